"""Policy documents managed in the database: upload, review, status, withholding (see
docs/architecture.md)."""
