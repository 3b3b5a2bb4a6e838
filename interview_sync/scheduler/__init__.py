"""Scheduling platform adapters."""
