"""Render an email kind (subject, text, HTML) from Jinja templates.

The user's template directory is searched first, then the templates shipped in
the package, so a user can override one file of one set and inherit the rest.
A custom set (a route's ``template = "nursing"``) also falls back, file by file,
to ``default``. ``StrictUndefined`` turns a misspelt key into an error at
``doctor`` time instead of a blank in a candidate's inbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import jinja2.meta

from interview_sync import sanitize
from interview_sync.errors import ConfigError

def packaged_kinds() -> tuple[str, ...]:
    """The email kinds: one per ``<kind>.txt.j2`` shipped in the default set. A kind exists
    because its templates do, so adding one needs no list to keep in step."""
    folder = resources.files("interview_sync").joinpath("templates", "default")
    suffix = ".txt.j2"
    return tuple(sorted(entry.name[: -len(suffix)] for entry in folder.iterdir()
                        if entry.name.endswith(suffix) and not entry.name.startswith("_")))


KINDS: tuple[str, ...] = packaged_kinds()

PARTS: tuple[str, ...] = ("subject", "txt", "html")

# Text-message kinds: one plain part each, under ``<set>/sms/`` (``<set>/<locale>/sms/``).
SMS_KINDS: tuple[str, ...] = ("invite", "relink", "followup", "confirmation", "reminder_candidate", "opt_out")

# Every key a caller may pass; templates may use any of them. Missing optional
# values are passed as None, never omitted.
CONTEXT_KEYS: tuple[str, ...] = (
    "org_name", "candidate_name", "candidate_first_name", "job_name", "hm_name", "hm_title",
    "interview_format", "duration_minutes", "link", "deadline", "fallback_contact", "start",
    "end", "timezone", "location", "join_url", "cancel_url", "reschedule_url",
    "what_to_expect", "updated", "feedback_url", "application_id", "invitation_ref", "reason",
    "fix", "recruiter_name", "when", "candidate_phone", "ats_link", "manager_notes", "command",
)

_FORMAT_LABELS = {"phone": "phone call", "video": "video call", "in_person": "in-person interview"}
_FORMAT_LABELS_ES = {"phone": "llamada telefónica", "video": "videollamada", "in_person": "entrevista presencial"}
SUBJECT_LIMIT = 150  # characters: mail clients show about 60; a vendor's very long job name is cut
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    kind: str = ""  # lets transports and the audit log name the message without parsing it


def one_line(value: str) -> str:
    """Collapse any line break or whitespace run to one space, controls and bidi
    overrides gone: header-safe (the rule lives in :mod:`interview_sync.sanitize`)."""
    return sanitize.one_line(value)


def _lf(value: str) -> str:
    """One line-ending convention inside; the MIME layer writes CRLF on the wire."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def format_label(value: str) -> str:
    """``video`` → ``video call``; an unknown format is a route bug, so fail loudly."""
    try:
        return _FORMAT_LABELS[value]
    except KeyError:
        raise ValueError(f"unknown interview_format {value!r}; use phone, video or in_person") from None


def format_label_es(value: str) -> str:
    """``video`` → ``videollamada`` (Spanish templates)."""
    try:
        return _FORMAT_LABELS_ES[value]
    except KeyError:
        raise ValueError(f"unknown interview_format {value!r}; use phone, video or in_person") from None


def http_url(value: str | None) -> str:
    """Only http(s) links become clickable; anything else (javascript:, data:) becomes '#'."""
    if not value:
        return "#"
    scheme = urlsplit(str(value).strip()).scheme.lower()
    return str(value).strip() if scheme in ("http", "https") else "#"


class TemplateRenderer:
    """Jinja environment over ``template_dir`` (optional) and the packaged templates."""

    def __init__(self, template_dir: Path | None = None) -> None:
        self.template_dir = template_dir
        loaders: list[jinja2.BaseLoader] = []
        if template_dir is not None:
            if not Path(template_dir).is_dir():
                raise ConfigError(f"email.template_dir {str(template_dir)!r} is not a directory",
                                  "create it, or remove email.template_dir to use the packaged templates")
            loaders.append(jinja2.FileSystemLoader(str(template_dir)))
        loaders.append(jinja2.PackageLoader("interview_sync", "templates"))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                                default_for_string=False, default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["format_label"] = format_label
        self.env.filters["format_label_es"] = format_label_es
        self.env.filters["http_url"] = http_url

    def render(self, kind: str, context: dict[str, Any], template_set: str = "default",
               locale: str = "en") -> Rendered:
        """One email; ``locale`` other than English looks in ``<set>/<locale>/`` first,
        and a kind nobody translated falls back to the English file."""
        if kind not in KINDS:
            raise ConfigError(f"unknown email kind {kind!r}", f"use one of: {', '.join(KINDS)}")
        text_template = self._load(kind, "txt", template_set, locale)
        with self._explained(text_template):
            module = text_template.make_module(context)
        subject = sanitize.cap(one_line(self._subject(kind, module, context, template_set, locale)), SUBJECT_LIMIT)
        text = _BLANK_RUNS.sub("\n\n", _lf(str(module))).strip() + "\n"
        html = _lf(self._render_part(kind, "html", context, template_set, locale)).strip() + "\n"
        if not subject:
            raise ConfigError(f"{self._name(template_set, kind, 'subject')} rendered an empty subject",
                              "put a one-line subject in that template")
        return Rendered(subject=subject, text=text, html=html, kind=kind)

    def _subject(self, kind: str, module: Any, context: dict[str, Any], template_set: str, locale: str) -> str:
        """A text template that sets ``subject`` names its own subject (so a new kind ships as
        two files, and a translated text carries its translated subject); otherwise
        ``<kind>.subject.j2`` does."""
        declared = getattr(module, "subject", None)
        if declared is not None:
            return str(declared)
        template = self._find(kind, "subject", template_set, locale)
        if template is None:
            first = self._name(template_set, kind, "subject")
            raise ConfigError(f"email kind {kind!r} has no subject: no {first} in {self._where()} and no "
                              f"{{% set subject %}} in {kind}.txt.j2",
                              f"create {first}, or start {kind}.txt.j2 with {{% set subject %}}...{{% endset %}}")
        return self._render(template, context)

    def render_sms(self, kind: str, context: dict[str, Any], template_set: str = "default",
                   locale: str = "en") -> str:
        """One text message body: whitespace collapsed to single spaces (a text has no layout)."""
        if kind not in SMS_KINDS:
            raise ConfigError(f"unknown text kind {kind!r}", f"use one of: {', '.join(SMS_KINDS)}")
        return " ".join(self._render_part(f"sms/{kind}", "txt", context, template_set, locale).split())

    def keys(self, kind: str, template_set: str = "default") -> set[str]:
        """Context keys the templates of one kind read (for doctor and the docs)."""
        used: set[str] = set()
        for part in PARTS:
            template = self._find(kind, part, template_set) if part == "subject" else \
                self._load(kind, part, template_set)
            if template is not None:
                used |= self._keys_of(template.name or "")
        return used

    def _keys_of(self, name: str, seen: set[str] | None = None) -> set[str]:
        seen = set() if seen is None else seen
        if name in seen:
            return set()
        seen.add(name)
        assert self.env.loader is not None
        source = self.env.loader.get_source(self.env, name)[0]
        ast = self.env.parse(source)
        used = set(jinja2.meta.find_undeclared_variables(ast))
        for parent in jinja2.meta.find_referenced_templates(ast):
            if parent:
                used |= self._keys_of(parent, seen)
        return used

    @staticmethod
    def _name(template_set: str, kind: str, part: str) -> str:
        return f"{template_set}/{kind}.{part}.j2"

    def _where(self) -> str:
        return f"{self.template_dir} or the packaged templates" if self.template_dir else "the packaged templates"

    def _names(self, kind: str, part: str, template_set: str, locale: str) -> list[str]:
        """Where one part may live, most specific first: the set's locale, default's locale,
        the set, default."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", template_set) or template_set.startswith("."):
            raise ConfigError(f"template set {template_set!r} is not a plain directory name",
                              "use letters, digits, '-', '_' (e.g. template = \"nursing\")")
        sets = [template_set] + (["default"] if template_set != "default" else [])
        names = [self._name(f"{name}/{locale}", kind, part) for name in sets if locale != "en"]
        return names + [self._name(name, kind, part) for name in sets]

    def _find(self, kind: str, part: str, template_set: str, locale: str = "en") -> jinja2.Template | None:
        """The part's template, or None when no file for it exists anywhere."""
        try:
            return self._load(kind, part, template_set, locale)
        except _Missing:
            return None

    def _load(self, kind: str, part: str, template_set: str, locale: str = "en") -> jinja2.Template:
        first = self._name(template_set, kind, part)
        try:
            return self.env.select_template(self._names(kind, part, template_set, locale))
        except jinja2.TemplateSyntaxError as err:
            raise ConfigError(f"template {err.name or first} line {err.lineno}: {err.message}",
                              "fix the Jinja syntax in that file, then run `interview-sync doctor`") from None
        except jinja2.TemplatesNotFound:
            raise _Missing(f"template {first} not found in {self._where()}",
                           f"create {first} (copy it from the packaged default set)") from None

    def _render_part(self, kind: str, part: str, context: dict[str, Any], template_set: str,
                     locale: str = "en") -> str:
        return self._render(self._load(kind, part, template_set, locale), context)

    def _render(self, template: jinja2.Template, context: dict[str, Any]) -> str:
        with self._explained(template):
            rendered = template.render(context)
        return rendered

    @contextmanager
    def _explained(self, template: jinja2.Template) -> Iterator[None]:
        """A template error becomes one ConfigError naming the file and the fix."""
        try:
            yield
        except jinja2.TemplateSyntaxError as err:  # in a layout pulled in at render time
            raise ConfigError(f"template {err.name or template.name} line {err.lineno}: {err.message}",
                              "fix the Jinja syntax in that file, then run `interview-sync doctor`") from None
        except jinja2.UndefinedError as err:
            raise ConfigError(f"template {template.name}: {err.message}",
                              f"pass the key in the context or remove it from the template "
                              f"(known keys: {', '.join(CONTEXT_KEYS)})") from None
        except jinja2.TemplateError as err:
            raise ConfigError(f"template {template.name}: {err}",
                              "fix that template, then run `interview-sync doctor`") from None
        except ValueError as err:  # our filters refuse bad values (e.g. an unknown format)
            raise ConfigError(f"template {template.name}: {err}",
                              "fix the value in the route or the template") from None


class _Missing(ConfigError):
    """No file for a template part exists in any searched set (a subject may live in the text)."""
