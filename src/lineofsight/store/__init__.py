"""The store: SQLAlchemy tables, Alembic migrations and repositories."""
