"""Issue 12 acceptance 3: a new email kind touches four files, no more.

The test adds a kind exactly as README's Architecture section says — its rule in
``workflow.py``, its flow in ``planner.py``, and two templates (the subject set
inside the text template) — to a scratch copy of the package, and nothing
else. A child process then runs a whole lifecycle against that copy on the
sandbox and reports what happened: the new email reached the candidate once,
in the dry run's plan and the real run alike; ``doctor``'s sample render
covers the kind; the mailbox knows who read it. If the kind needed a fifth
file (a list of kinds, a sample, a reader table, an executor handler), the
child fails and so does this test.

A second part checks the two mechanisms the count rests on, in this process:
kinds are discovered from the packaged templates, and the reader of a mail
that comes back is worked out from the invitation, not from a table of kinds.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from harness import REPO

import interview_sync
from interview_sync.invitation import Invitation, State
from interview_sync.mail.render import KINDS, TemplateRenderer, packaged_kinds
from interview_sync.mailbox.classify import Classified
from interview_sync.mailbox.plan import MAIL_BOUNCE, MAIL_RETRY, MailEvent, on_mail, reader_of

PACKAGE = Path(interview_sync.__file__).resolve().parent

RULE_ANCHOR = "    return actions\n\n\ndef in_configured_stage"
RULE = ("    if any(a.kind in (FEEDBACK, CLOSE) for a in actions):  # the interview is over: once, as it ends\n"
        "        actions.insert(0, Action(THANK_YOU, inv.ref, f\"{inv.ref}:thank_you:{booking}\"))\n"
        + RULE_ANCHOR)
FLOW_ANCHOR = "            wf.ALERT: lambda: self.alert(inv, action),\n"
FLOW_ENTRY = FLOW_ANCHOR + "            wf.THANK_YOU: lambda: self._thank_you(inv, action),\n"
METHOD_ANCHOR = "    def _close(self, inv: Invitation, action: wf.Action) -> Flow:\n"
METHOD = ("    def _thank_you(self, inv: Invitation, action: wf.Action) -> Flow:\n"
          "        _, inv = yield from self._candidate(inv, action.key, \"thank_you\", inv)\n"
          "        return inv\n\n")
TEXT = ("{% set subject %}Thank you for your time, {{ candidate_first_name }}{% endset %}\n"
        "Hi {{ candidate_first_name }},\n\n"
        "Thank you for talking with {{ hm_name }} about the {{ job_name }} role. We will be in touch.\n\n"
        "{{ org_name }}\n")
HTML = ("{% extends \"default/_layout.html.j2\" %}\n{% block body %}\n"
        "<p>Hi {{ candidate_first_name }},</p>\n"
        "<p>Thank you for talking with {{ hm_name }} about the {{ job_name }} role.</p>\n{% endblock %}\n")

CHILD = r'''
import json, sys
from pathlib import Path
from datetime import timedelta

import interview_sync
from harness import Harness
from interview_sync.mail.render import KINDS, TemplateRenderer
from interview_sync.mail.samples import SAMPLE_CONTEXT
from interview_sync.mailbox.plan import reader_of
from interview_sync.poll import run_poll

h = Harness(Path(sys.argv[1]))
h.poll()
h.invite_and_book("17001")
inv = h.invitation("17001")
hours = (inv.interview_end - h.start).total_seconds() / 3600
h.at(hours + 30)
_, plan = run_poll(h.ctx, dry_run=True)
performed = list(h.poll().performed)
h.at(hours + 60)
performed += h.poll().performed
mails = h.emails_to("zoe+nurse@example.org", "thank_you")
print(json.dumps({
    "package": interview_sync.__file__,
    "kinds": list(KINDS),
    "planned": [p.action + " " + p.key for p in plan if "thank_you" in p.key],
    "performed": [p.action + " " + p.key for p in performed if "thank_you" in p.key],
    "subjects": [str(m["Subject"]) for m in mails],
    "state": h.invitation("17001").state.value,
    "sample_subject": TemplateRenderer().render("thank_you", SAMPLE_CONTEXT["thank_you"]).subject,
    "reader": reader_of(h.invitation("17001"), "thank_you", "zoe+nurse@example.org"),
}))
h.close()
'''


def _edit(path: Path, anchor: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(anchor) == 1, f"{path.name}: the anchor moved; update this test to the new shape"
    path.write_text(text.replace(anchor, replacement), encoding="utf-8")


def _add_thank_you(package: Path) -> None:
    """Exactly the README recipe for a new email kind, applied to a copy of the package."""
    workflow = package / "workflow.py"
    _edit(workflow, RULE_ANCHOR, RULE)
    workflow.write_text(workflow.read_text(encoding="utf-8") + '\nTHANK_YOU = "thank_you"\n', encoding="utf-8")
    planner = package / "planner.py"
    _edit(planner, FLOW_ANCHOR, FLOW_ENTRY)
    _edit(planner, METHOD_ANCHOR, METHOD + METHOD_ANCHOR)
    (package / "templates" / "default" / "thank_you.txt.j2").write_text(TEXT, encoding="utf-8")
    (package / "templates" / "default" / "thank_you.html.j2").write_text(HTML, encoding="utf-8")


def _changed(left: Path, right: Path, prefix: str = "") -> set[str]:
    """Files added or changed in ``right`` compared with ``left`` (caches ignored)."""
    compared = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = {prefix + name for name in compared.right_only + compared.diff_files}
    for name, sub in compared.subdirs.items():
        found |= _changed(Path(sub.left), Path(sub.right), f"{prefix}{name}/")
    return found


def test_a_new_email_kind_needs_its_rule_its_flow_and_two_templates(tmp_path: Path) -> None:
    scratch = tmp_path / "src"
    package = scratch / "interview_sync"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    _add_thank_you(package)
    assert _changed(PACKAGE, package) == {"workflow.py", "planner.py", "templates/default/thank_you.txt.j2",
                                          "templates/default/thank_you.html.j2"}
    (tmp_path / "child.py").write_text(CHILD, encoding="utf-8")
    paths = [str(scratch), str(REPO / "tests")] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    (tmp_path / "run").mkdir()
    done = subprocess.run([sys.executable, str(tmp_path / "child.py"), str(tmp_path / "run")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(seen["package"]).resolve().is_relative_to(scratch.resolve())  # the copy ran, not the checkout
    assert "thank_you" in seen["kinds"]
    assert seen["subjects"] == ["Thank you for your time, Zoë"]  # sent once, subject from the text template
    assert len(seen["performed"]) == 1 and seen["performed"][0].startswith("email ")
    assert seen["planned"] == seen["performed"]  # the dry run showed it before the real run sent it
    assert seen["state"] == "closed"  # the feedback request closed it, as before: the lifecycle went on
    assert seen["sample_subject"] == "Thank you for your time, Zoë"
    assert seen["reader"] == "candidate"


def test_kinds_are_the_packaged_text_templates() -> None:
    folder = PACKAGE / "templates" / "default"
    on_disk = {p.name.removesuffix(".txt.j2") for p in folder.glob("*.txt.j2") if not p.name.startswith("_")}
    assert set(packaged_kinds()) == set(KINDS) == on_disk
    assert {"invite", "followup", "confirmation", "recruiter_alert"} <= set(KINDS)
    assert not any(kind.startswith("_") or "/" in kind for kind in KINDS)  # the layout and sub-sets are not kinds


def test_a_subject_set_in_the_text_wins_and_without_either_the_error_names_both_fixes(tmp_path: Path) -> None:
    from interview_sync.errors import ConfigError
    from interview_sync.mail.samples import SAMPLE_CONTEXT

    (tmp_path / "default").mkdir()
    text = tmp_path / "default" / "invite.txt.j2"
    text.write_text("{% set subject %}Come and talk, {{ candidate_first_name }}{% endset %}\nHello\n",
                    encoding="utf-8")
    out = TemplateRenderer(tmp_path).render("invite", SAMPLE_CONTEXT["invite"])
    assert (out.subject, out.text) == ("Come and talk, Zoë", "Hello\n")  # not the packaged invite.subject.j2
    text.write_text("Hello\n", encoding="utf-8")
    out = TemplateRenderer(tmp_path).render("invite", SAMPLE_CONTEXT["invite"])
    assert out.subject.startswith("Interview invitation:")  # no subject in the text: the subject file names it

    renderer = TemplateRenderer(tmp_path)
    renderer._find = lambda *args, **kwargs: None  # type: ignore[method-assign]  # as if no subject file shipped
    with pytest.raises(ConfigError) as err:
        renderer.render("invite", SAMPLE_CONTEXT["invite"])
    assert "has no subject" in err.value.message and "set subject" in err.value.fix


def _inv(**values: object) -> Invitation:
    at = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
    base = dict(ref="is-17001-abc", application_id="17001", candidate_id="7001", job_id="101", stage_id="5",
                stage_name="Phone Screen", stage_changed_at=at, created_at=at, state=State.INVITED, candidate_email="zoe@example.org", hm_email="maria@example.org")
    return Invitation(**(base | values))  # type: ignore[arg-type]


def test_the_reader_of_returned_mail_comes_from_the_invitation() -> None:
    inv = _inv()
    assert reader_of(inv, "anything_new", "ZOE@example.org") == "candidate"
    assert reader_of(inv, "anything_new", "maria@example.org") == "hm"
    assert reader_of(inv, "recruiter_alert", "zoe@example.org") == "recruiter"
    assert reader_of(inv, "invite", "old-address@example.org") == "other"
    assert reader_of(inv, "invite", None) == "other"


def test_a_soft_bounce_from_an_address_no_longer_on_the_invitation_is_not_sent_again() -> None:
    inv = _inv()
    soft = Classified(kind="bounce", message_id="<b1@mx.example>", hard=False, address="old@example.org",
                      reason="4.2.2 mailbox full")
    current = MailEvent(soft, "is-17001-abc:invite:0", "invite", "zoe@example.org", "candidate")
    stale = MailEvent(soft, "is-17001-abc:invite:0", "invite", "old@example.org", "other")
    assert [a.kind for a in on_mail(inv, current)] == [MAIL_RETRY]
    assert [a.kind for a in on_mail(inv, stale)] == [MAIL_BOUNCE]
