"""The service's state: one SQLAlchemy database (SQLite file by default, PostgreSQL when
``DATABASE_URL`` says so), its tables (``models``) and their Alembic migrations (``migrate``)."""
