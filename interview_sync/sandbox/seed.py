"""Seed data for the built-in sandbox: a small hospital hiring for clinical roles.

Vendor-neutral: the Greenhouse and Calendly sandbox modules render these into
their own wire formats. Names deliberately carry apostrophes, accents and
diacritics, and addresses use plus-addressing, so every demo exercises the
encodings a real hospital workforce brings.
"""

from __future__ import annotations

from typing import Any

ORG_NAME = "Mercy Valley Health"
ORG_DOMAIN = "mercyvalley.example"

STAGES = ["Application Review", "Phone Screen", "First Interview", "Panel Interview", "Offer"]

# ATS users. ``host`` marks those who also have a scheduler account.
USERS: list[dict[str, Any]] = [
    {"id": 4001, "first_name": "Maria", "last_name": "Delgado", "title": "Nurse Manager, ICU",
     "email": "maria.delgado@mercyvalley.example", "host": True},
    {"id": 4002, "first_name": "James", "last_name": "O'Connor", "title": "Director of Nursing",
     "email": "james.oconnor@mercyvalley.example", "host": True},
    {"id": 4003, "first_name": "Priya", "last_name": "Raman", "title": "Respiratory Care Supervisor",
     "email": "priya.raman@mercyvalley.example", "host": True},
    {"id": 4004, "first_name": "Aisha", "last_name": "Bello", "title": "CNA Program Lead",
     "email": "aisha.bello@mercyvalley.example", "host": True},
    {"id": 4005, "first_name": "Tom", "last_name": "Becker", "title": "Senior Recruiter",
     "email": "tom.becker@mercyvalley.example", "host": False},
    {"id": 4006, "first_name": "Dana", "last_name": "Whitfield", "title": "Clinical Recruiter",
     "email": "dana.whitfield@mercyvalley.example", "host": False},
]

# Jobs with their hiring team (user ids). Job 105 has no hiring manager on purpose.
JOBS: list[dict[str, Any]] = [
    {"id": 101, "name": "Registered Nurse – ICU (Nights)", "department": "Nursing",
     "office": "Sacramento", "hiring_managers": [4001], "recruiters": [4005]},
    {"id": 102, "name": "Certified Nursing Assistant", "department": "Nursing",
     "office": "Sacramento", "hiring_managers": [4004], "recruiters": [4005]},
    {"id": 103, "name": "Respiratory Therapist", "department": "Respiratory Care",
     "office": "Folsom", "hiring_managers": [4003], "recruiters": [4006]},
    {"id": 104, "name": "Nurse Unit Manager – Med/Surg", "department": "Nursing Leadership",
     "office": "Sacramento", "hiring_managers": [4002], "recruiters": [4006]},
    {"id": 105, "name": "Travel RN – Emergency Department", "department": "Nursing",
     "office": "Roseville", "hiring_managers": [], "recruiters": [4005]},
]

# Candidates; each has one application (id = candidate id + 10000) on ``job``.
CANDIDATES: list[dict[str, Any]] = [
    {"id": 7001, "first_name": "Zoë", "last_name": "O'Brien-Nguyễn", "email": "zoe+nurse@example.org",
     "phone": "+1 916 555 0101", "job": 101},
    {"id": 7002, "first_name": "José", "last_name": "Martínez", "email": "jose.martinez@example.com",
     "phone": "+1 916 555 0102", "job": 102},
    {"id": 7003, "first_name": "Siobhán", "last_name": "Ní Bhriain", "email": "siobhan.nibhriain+rt@example.net",
     "phone": "+1 916 555 0103", "job": 103},
    {"id": 7004, "first_name": "Kwame", "last_name": "Mensah", "email": "kwame.mensah@example.org",
     "phone": "+1 916 555 0104", "job": 104},
    {"id": 7005, "first_name": "Emily", "last_name": "Chen", "email": "emily.chen@example.com",
     "phone": "+1 916 555 0105", "job": 101},
    {"id": 7006, "first_name": "Dmitri", "last_name": "Volkov", "email": "d.volkov@example.net",
     "phone": "+1 916 555 0106", "job": 105},
    {"id": 7007, "first_name": "Fatima", "last_name": "Al-Sayed", "email": "fatima.alsayed+cna@example.org",
     "phone": "+1 916 555 0107", "job": 102},
    {"id": 7008, "first_name": "Renée", "last_name": "Dubois-Laurent", "email": "renee.dubois@example.com",
     "phone": "+1 916 555 0108", "job": 103},
    {"id": 7009, "first_name": "Marcus", "last_name": "Johnson", "email": None,
     "phone": "+1 916 555 0109", "job": 101},
    {"id": 7010, "first_name": "Ngozi", "last_name": "Okafor", "email": "ngozi.okafor@example.org",
     "phone": "+1 916 555 0110", "job": 104},
]

# Scheduler event types each host owns (slug, name, minutes).
EVENT_TYPES: list[tuple[str, str, int]] = [
    ("phone-screen-30", "Phone Screen (30 min)", 30),
    ("first-interview-45", "First Interview (45 min)", 45),
    ("leadership-video-60", "Leadership Interview (Video, 60 min)", 60),
]

HOST_TIMEZONE = "America/Los_Angeles"
WORKDAY = (8, 17)  # hosts' bookable hours, local time, Monday to Friday


def application_id(candidate_id: int) -> int:
    return candidate_id + 10000
