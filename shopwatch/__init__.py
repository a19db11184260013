"""shopwatch: merchant cameras into a police command room."""

__version__ = "0.1.0"
