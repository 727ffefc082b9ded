"""SQLAlchemy 2 async models and repositories implementing the core ports; Alembic migrations."""

from storage.migrate import migration_status, upgrade_database
from storage.store import SqlStore, default_database_url

__all__ = ["SqlStore", "default_database_url", "migration_status", "upgrade_database"]
