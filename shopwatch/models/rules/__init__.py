"""Rules: small per-camera state machines fed one ``Observation`` per frame, returning events."""
