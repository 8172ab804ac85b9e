"""Alembic migrations (run with ``python -m backend init`` or ``backend.migrate.upgrade``)."""
