"""The contract every ATS adapter keeps (Greenhouse, Lever, ...)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from ..models import Application, Candidate, Job, Person
from ..paging import Paging


class ATS(Protocol):
    """What the poll cycle needs from an applicant tracking system.

    Implementations raise :class:`interview_sync.errors.VendorError` (or a
    subclass) for anything the vendor refuses after retries; they never
    return half-parsed records. A record that cannot be parsed is reported
    through ``on_bad_record`` by the caller-provided hook and skipped.
    """

    name: str

    def changed_applications(self, since: datetime | None, paging: Paging | None = None) -> Iterator[Application]:
        """Applications updated at or after ``since`` (all of them when None),
        following the vendor's paging to the end, each once, or until ``paging``
        stops it (then ``paging.resume`` is where the next poll starts); including
        those whose stage changed when the vendor's own ``updated_at`` did not move
        (Greenhouse: read from the stage history)."""
        ...

    def get_application(self, application_id: str) -> Application: ...

    def get_candidate(self, candidate_id: str) -> Candidate: ...

    def get_job(self, job_id: str) -> Job:
        """The job with its hiring team (hiring managers, recruiters) resolved
        to people with email addresses."""
        ...

    def get_user(self, user_id: str) -> Person: ...

    def application_url(self, application_id: str, candidate_id: str, web_url: str | None = None) -> str | None:
        """The recruiter's web page for the application (on ``web_url`` when given, else
        the vendor's host), or None where the vendor documents no URL form (then people
        are pointed at the ids)."""
        ...

    def add_note(self, application: Application, body: str) -> None: ...

    def add_tag(self, application: Application, tag: str) -> None: ...

    def stage_names(self) -> set[str]:
        """Every interview-stage name the ATS knows (for `doctor`)."""
        ...

    def check_auth(self) -> dict[str, str]:
        """Mint/verify credentials; returns facts for `doctor` (e.g. expires_at)."""
        ...
