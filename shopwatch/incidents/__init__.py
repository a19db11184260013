"""Incidents: event store, operator workflow, patrol routing, outbox delivery, linking, auto-deterrence."""
