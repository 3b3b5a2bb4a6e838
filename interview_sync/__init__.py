"""interview-sync: from ATS stage change to confirmed interview, with no recruiter touch."""

__version__ = "0.1.0"
