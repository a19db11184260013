"""Alembic migrations of the shopwatch database (run by ``shopwatch.store.db.migrate``)."""
