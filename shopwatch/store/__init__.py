"""Storage: database location and engines (``db``), tables and migrations, the camera registry (``cameras``)."""
