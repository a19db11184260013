"""Migration scripts, one per schema revision, named ``v<rev>_<slug>.py``."""
