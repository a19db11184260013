"""Simulated cameras for the demo and the tests. Never imported by production code."""
