"""SQLAlchemy 2 async models and repositories implementing the core ports; Alembic migrations."""
