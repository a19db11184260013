"""FastAPI app, built by ``create_app(settings, services)``."""
