"""Applicant tracking system adapters."""
