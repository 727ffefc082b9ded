"""SQLAlchemy 2 async models and repositories implementing the core ports; Alembic migrations."""

from storage.migrate import (
    current_revision,
    head_revision,
    migration_status,
    older_revisions,
    upgrade_database,
)
from storage.store import SqlStore, default_database_url

__all__ = [
    "SqlStore",
    "current_revision",
    "default_database_url",
    "head_revision",
    "migration_status",
    "older_revisions",
    "upgrade_database",
]
