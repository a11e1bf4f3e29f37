"""Turns a knowledge folder into a searchable index artifact (see docs/architecture.md)."""
