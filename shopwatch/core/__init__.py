"""Shared values every stage speaks: config models, frames, health, errors, clock. Imports nothing below."""
