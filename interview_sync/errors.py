"""One error hierarchy; every error carries the fix, and maps to one exit code."""

from __future__ import annotations

import errno
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """The process exit codes of SPEC §3; scripts, cron and systemd read these.

    A recruiter alert is the tool doing its job, so a cycle that raised alerts
    still exits ``OK``: only work that was neither done nor handed to a person
    (a vendor still failing, an alert that could not be sent) is ``FAILED``.
    """

    OK = 0
    FAILED = 1  # something could not be done and could not be handed to a person
    NEEDS_ATTENTION = 1  # older name of FAILED, kept for callers written before the rename
    USAGE = 2  # usage, configuration or local I/O error
    TEMPFAIL = 75  # another poll holds the lock (EX_TEMPFAIL)

    @classmethod
    def for_cycle(cls, unhanded: int) -> "ExitStatus":
        """A cycle that ran to its end: alerts do not count, ``unhanded`` failures do."""
        return cls.FAILED if unhanded else cls.OK

    @classmethod
    def for_error(cls, exc: "InterviewSyncError") -> "ExitStatus":
        """A library error that stopped a command: each error class names its own code."""
        return cls(exc.exit_status)


class InterviewSyncError(Exception):
    """Base error: ``str(err)`` is one line naming the field/value and the fix."""

    exit_status = ExitStatus.FAILED

    def __init__(self, message: str, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(f"{message} — {fix}" if fix else message)


class ConfigError(InterviewSyncError):
    exit_status = ExitStatus.USAGE


class StateError(InterviewSyncError):
    """The state database is missing, corrupt, read-only or too new."""

    exit_status = ExitStatus.USAGE


class LocalIOError(InterviewSyncError):
    """A file or directory on this machine could not be written (read-only, disk full, ...).

    Its own exit status (2), not a vendor failure: retrying will not help until
    a person frees space or fixes permissions, and cron should say so loudly.
    """

    exit_status = ExitStatus.USAGE

    @classmethod
    def from_os_error(cls, exc: OSError, path: Path | str, setting: str | None = None) -> "LocalIOError":
        """One line naming ``path`` and the fix for the usual causes; ``setting`` is the config key
        or option that chose the path, named in the fix."""
        where = f", or set {setting} to another place" if setting else ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return cls(f"no space left on the disk holding {path}",
                       f"free disk space (or raise the quota){where}, then run the command again")
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return cls(f"{path} is not writable ({exc.strerror or 'permission denied'})",
                       f"make it writable by this user (e.g. chmod u+w){where}")
        if exc.errno == errno.ENOENT:
            return cls(f"{path}: the directory does not exist", f"create it{where}")
        return cls(f"cannot write {path}: {exc.strerror or type(exc).__name__}",
                   f"check the disk and the path{where}, then run the command again")


class LockHeld(InterviewSyncError):
    exit_status = ExitStatus.TEMPFAIL


class VendorError(InterviewSyncError):
    """A vendor refused or failed after retries."""

    def __init__(self, vendor: str, message: str, fix: str | None = None,
                 status: int | None = None) -> None:
        self.vendor = vendor
        self.status = status
        super().__init__(f"{vendor}: {message}", fix)


class VendorAuthError(VendorError):
    """Credentials rejected (401/403)."""


class NotFound(VendorError):
    """The vendor has no such object (404)."""


class ForeignOrigin(VendorError):
    """A vendor response pointed us at a URL outside the configured base URL's origin.

    Following it would hand our credentials to whoever runs that origin, so the
    call is never made (SPEC §8)."""


class RetryTooLate(VendorError):
    """The vendor asked us to wait (429 ``Retry-After``) longer than one poll may sleep."""


class BadRecord(InterviewSyncError):
    """One vendor record could not be parsed; the poll skips it and alerts."""


class BadRecordLog(list[BadRecord]):
    """What an adapter skipped in its listings: kept for tests and `doctor`, and
    handed to the caller's hook (the poll turns each into a report line)."""

    def __init__(self, hook: "Callable[[BadRecord], None] | None" = None) -> None:
        super().__init__()
        self.hook = hook

    def report(self, record: BadRecord) -> None:
        self.append(record)
        if self.hook is not None:
            self.hook(record)


class DeliveryError(InterviewSyncError):
    """An email could not be delivered (refused recipient, SMTP failure)."""

    def __init__(self, message: str, fix: str | None = None, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message, fix)


class AuthRefused(DeliveryError):
    """The mail provider refused our credentials or token: nothing was sent.

    Every later message in the same poll would be refused the same way, so the
    transport remembers the first refusal and raises it again with
    ``repeated=True``; the executor reports only the first one and leaves the
    rest for the next poll (their rows are retried, nothing reached anyone).
    """

    def __init__(self, message: str, fix: str | None = None, repeated: bool = False) -> None:
        super().__init__(message, fix, permanent=False)
        self.repeated = repeated

    def again(self) -> "AuthRefused":
        return AuthRefused(self.message, self.fix, repeated=True)
