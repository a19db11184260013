"""Fixtures shared across packages. Database fixtures (``db_url``, ``engine``) live in tests/store/db_fixtures.py."""

pytest_plugins = ["tests.store.db_fixtures"]
