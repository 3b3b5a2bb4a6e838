"""`interview-sync consent list | show PHONE | revoke PHONE`: the SMS consent ledger."""

from __future__ import annotations

from typing import Any, Optional

import typer

from ..errors import ConfigError
from . import render
from .base import app, handles_errors, settings

consent_app = typer.Typer(no_args_is_help=True, help="The SMS consent ledger: who may be texted, and why.")
app.add_typer(consent_app, name="consent")


def _phone(raw: str) -> str:
    from ..sms.phone import to_e164

    phone = to_e164(raw, settings().sms.region)
    if phone is None:
        raise ConfigError(f"PHONE {raw!r} is not a phone number", "write it in E.164, e.g. +19165550142")
    return phone


def _open(readonly: bool = True) -> Any:
    from ..state import StateDB

    return StateDB.open(settings().state.path, readonly=readonly)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {"phone": row["phone"], "state": row["state"], "source": row["source"], "at": row["at"],
            "text_shown": row["text_shown"], "candidate_id": row["candidate_id"]}


@consent_app.command("list")
@handles_errors
def consent_list(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every number in the ledger with its state (granted | revoked), source and time."""
    db = _open()
    try:
        rows = [_row(r) for r in db.consents()]
    finally:
        db.close()
    if json_out:
        render.emit_json(rows)
        return
    render.table("SMS consent", ["phone", "state", "source", "since"],
                 [[r["phone"], r["state"], r["source"], r["at"]] for r in rows])


@consent_app.command("show")
@handles_errors
def consent_show(phone: str = typer.Argument(..., help="The number, e.g. +19165550142 or (916) 555-0142."),
                 json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """One number's consent: current state, the text the candidate was shown, and every change."""
    number = _phone(phone)
    db = _open()
    try:
        row = db.get_consent(number)
        changes = [{"at": r["at"], "event": r["event"], "detail": r["detail"], "actor": r["actor"]}
                   for r in db.iter_audit() if r["channel"] == "sms" and r["recipient"] == number
                   and r["event"] in ("consent_granted", "consent_revoked")]
    finally:
        db.close()
    data = {"phone": number, "state": row["state"] if row else "none", "record": _row(row) if row else None,
            "changes": changes}
    if json_out:
        render.emit_json(data)
        return
    render.info(f"{number}: {data['state']}" + (f" (source: {row['source']}, since {row['at']})" if row else
                                                 " — no consent on record: the tool never texts it"))
    if row and row["text_shown"]:
        render.info(f"text shown: {row['text_shown']}")
    for change in changes:
        render.info(f"  {change['at']}  {change['event']}  {change['detail']}  ({change['actor']})")


@consent_app.command("revoke")
@handles_errors
def consent_revoke(phone: str = typer.Argument(..., help="The number to stop texting."),
                   reason: Optional[str] = typer.Option(None, "--reason", help="Why (kept in the audit log)."),
                   json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Record an opt-out received another way (a call, an email, in person): no more texts to PHONE
    until the candidate texts START."""
    from ..clock import SystemClock
    from ..context import os_user
    from ..sms import ledger

    number = _phone(phone)
    source = "recruiter" + (f": {reason}" if reason else "")
    db = _open(readonly=False)
    try:
        changed = ledger.revoke(db, number, source=source, at=SystemClock().now(), actor=os_user())
    finally:
        db.close()
    if json_out:
        render.emit_json({"phone": number, "state": "revoked", "changed": changed})
        return
    render.info(f"{number}: revoked" if changed else f"{number}: already revoked; nothing changed")
