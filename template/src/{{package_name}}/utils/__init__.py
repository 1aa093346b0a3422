"""Seeding, hardware and config-to-object helpers."""
