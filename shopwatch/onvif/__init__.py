"""ONVIF: onboarding (device, services, profiles, stream and snapshot URIs, audio outputs, clock), WS-Discovery,
PullPoint motion events for ingest's activity signal, and device snapshots when a stream is down.

Protocol pieces that work on bytes and values (``soap``, ``media2``, ``profiles``, ``events``, ``discovery``)
are separate from the modules that do I/O (``device``, ``onboard``, ``pullpoint``, ``snapshot``)."""
