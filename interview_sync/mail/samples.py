"""Sample render contexts: one realistic context per email kind, plus a hostile one.

``doctor`` renders every kind with ``SAMPLE_CONTEXT`` to prove a user's
templates work before a candidate sees them; tests render ``HOSTILE_CONTEXT``
to prove escaping and header safety. Every context carries every key of
``render.CONTEXT_KEYS`` (None where a value is unknown), exactly as the
executor passes them, so a template that uses any documented key renders.
A kind gets the base context unless ``_SPECIFIC`` gives it more telling
values, so a new kind needs no entry here.
"""

from __future__ import annotations

from typing import Any

from interview_sync.mail.render import CONTEXT_KEYS, KINDS

_BASE: dict[str, Any] = {
    "org_name": "Mercy Valley Health",
    "candidate_name": "Zoë O'Brien-Nguyễn",
    "candidate_first_name": "Zoë",
    "job_name": "Registered Nurse – ICU (Nights)",
    "hm_name": "Maria Delgado",
    "hm_title": "Nurse Manager, ICU",
    "interview_format": "phone",
    "duration_minutes": 30,
    "link": "https://calendly.com/d/abcd-1234/phone-screen-30?utm_content=is-17001-3f9a2c7d1e",
    "deadline": "Thursday, November 26, 2026 at 9:00 AM PST (America/Los_Angeles)",
    "fallback_contact": "Recruiting desk: (555) 010-0100, recruiting@example.org",
    "start": "Tuesday, December 1, 2026 at 10:00 AM PST (America/Los_Angeles)",
    "end": "Tuesday, December 1, 2026 at 10:30 AM PST (America/Los_Angeles)",
    "timezone": "America/Los_Angeles",
    "location": None,
    "join_url": None,
    "cancel_url": "https://calendly.com/cancellations/6f1c2a90-0000-4000-8000-000000000001",
    "reschedule_url": "https://calendly.com/reschedulings/6f1c2a90-0000-4000-8000-000000000001",
    "what_to_expect": "A relaxed conversation about your experience and what you are "
                      "looking for. No preparation is needed.",
    "updated": False,
    "feedback_url": None,
    "application_id": "17001",
    "invitation_ref": "is-17001-3f9a2c7d1e",
    "reason": None,
    "fix": None,
    "recruiter_name": None,
    "when": "Tuesday, December 1, 2026 at 10:00 AM PST – 10:30 AM PST (America/Los_Angeles)",
    "candidate_phone": None,
    "ats_link": None,
    "manager_notes": [],
    "command": None,
}

_SPECIFIC: dict[str, dict[str, Any]] = {
    "invite": {**_BASE, "start": None, "end": None, "when": None, "cancel_url": None, "reschedule_url": None,
               "what_to_expect": None},
    "followup": {**_BASE, "start": None, "end": None, "when": None, "cancel_url": None, "reschedule_url": None,
                 "deadline": "Friday, November 27, 2026 at 9:00 AM PST (America/Los_Angeles)", "what_to_expect": None},
    "confirmation": {**_BASE, "interview_format": "video", "duration_minutes": 60,
                     "join_url": "https://mercyvalley.zoom.example/j/81234567890",
                     "hm_name": "James O'Connor", "hm_title": "Director of Nursing",
                     "job_name": "Nurse Unit Manager – Med/Surg",
                     "end": "Tuesday, December 1, 2026 at 11:00 AM PST (America/Los_Angeles)",
                     "when": "Tuesday, December 1, 2026 at 10:00 AM PST – 11:00 AM PST (America/Los_Angeles)"},
    "reminder_candidate": {**_BASE, "interview_format": "in_person",
                           "location": "Mercy Valley Hospital, 2nd floor, 100 Example Way, Sacramento"},
    "reminder_hm": {**_BASE, "candidate_phone": "+1 916 555 0142",
                    "ats_link": "https://app.greenhouse.io/people/7001?application_id=17001"},
    "hm_booking": {**_BASE, "updated": True, "candidate_phone": "+1 916 555 0142",
                   "ats_link": "https://app.greenhouse.io/people/7001?application_id=17001",
                   "manager_notes": ["Stage: Phone Screen since Monday, November 30, 2026 at 8:00 AM PST "
                                     "(America/Los_Angeles)", "Preferred shift: Nights"]},
    "hm_cancel": {**_BASE, "cancel_url": None, "reschedule_url": None},
    "relink": {**_BASE, "deadline": "Saturday, December 5, 2026 at 10:00 AM PST (America/Los_Angeles)",
               "cancel_url": None, "reschedule_url": None},
    "feedback_request": {**_BASE,
                         "feedback_url": "https://app.greenhouse.io/guides/17001/people/7001?application_id=17001"},
    "recruiter_alert": {**_BASE, "recruiter_name": "Tom Becker",
                        "job_name": "Travel RN – Emergency Department",
                        "candidate_name": "Dmitri Volkov", "candidate_first_name": "Dmitri",
                        "application_id": "17006", "invitation_ref": "is-17006-8b0e51a2c4",
                        "start": None, "end": None, "when": None,
                        "ats_link": "https://app.greenhouse.io/people/7006?application_id=17006",
                        "reason": "job Travel RN – Emergency Department has no hiring manager with an email "
                                  "address in the ATS, so there is nobody to book the interview with",
                        "fix": "add the hiring manager to the job's hiring team in the ATS, then send the "
                               "invitation with the command below",
                        "command": "interview-sync invite 17006 --resend --reason 'hiring manager added'"},
}

# Values an attacker (or an unlucky data entry) could put in any field: markup,
# header injection via CR/LF, quotes, accents, a javascript: link.
HOSTILE_CONTEXT: dict[str, Any] = {
    "org_name": "Mercy <b>Valley</b> & Co\r\nBcc: evil@attacker.example",
    "candidate_name": "Zoë O'Brien-Nguyễn <script>alert(1)</script>",
    "candidate_first_name": "Zoë\r\nBcc: evil@attacker.example",
    "job_name": "Nurse \"ICU\" <img src=x onerror=alert(1)>\r\nX-Injected: yes",
    "hm_name": "Maria </p><script>steal()</script>",
    "hm_title": "Nurse Manager, ICU & <i>Stepdown</i>",
    "interview_format": "video",
    "duration_minutes": 45,
    "link": "javascript:alert(document.cookie)",
    "deadline": "<b>tomorrow</b>\nSubject: fake",
    "fallback_contact": "<a href=\"http://evil.example\">call us</a>",
    "start": "Tue 1 Dec 2026 10:00\r\nBcc: evil@attacker.example",
    "end": "11:00 <script>x</script>",
    "timezone": "America/Los_Angeles",
    "location": "<iframe src=//evil.example>",
    "join_url": "\" onmouseover=\"alert(1)",
    "cancel_url": "data:text/html,<script>alert(1)</script>",
    "reschedule_url": "https://ok.example/r?a=1&b=<x>",
    "what_to_expect": "<script>alert('expect')</script>",
    "updated": True,
    "feedback_url": "javascript:void(0)",
    "application_id": "17001<script>",
    "invitation_ref": "is-17001\r\nX-Evil: 1",
    "reason": "<b>bad</b> reason\r\nBcc: evil@attacker.example",
    "fix": "run <code>rm -rf</code>",
    "recruiter_name": "Tom <script>Becker</script>",
    "when": "Tue 1 Dec 10:00 <script>x</script>\r\nBcc: evil@attacker.example",
    "candidate_phone": "<b>555</b>\r\nBcc: evil@attacker.example",
    "ats_link": "javascript:alert('ats')",
    "manager_notes": ["<script>alert('note')</script>", "Shift: <b>nights</b>\r\nX-Injected: 1"],
    "command": "interview-sync invite '17001<script>' --resend --reason 'x'",
}

SAMPLE_CONTEXT: dict[str, dict[str, Any]] = {kind: _SPECIFIC.get(kind, _BASE) for kind in KINDS}

assert set(_SPECIFIC) <= set(KINDS), set(_SPECIFIC) - set(KINDS)
assert all(set(ctx) == set(CONTEXT_KEYS) for ctx in SAMPLE_CONTEXT.values())
assert set(HOSTILE_CONTEXT) == set(CONTEXT_KEYS)
