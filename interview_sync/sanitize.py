"""Make vendor text safe to put in a header, a CSV cell or a terminal line.

Names, job titles and notes come from the ATS and the scheduler, so any of
them may carry characters that change how the text is *shown* rather than
what it says: bidi overrides that make ``evil.exe`` read ``exe.live``,
terminal escape sequences (ESC is a C0 control), NULs, line separators that
a header or a CSV reader treats as a new record. One helper strips them all
so every output path applies the same rule.
"""

from __future__ import annotations

import re
import unicodedata

# U+202A–U+202E (embeddings and overrides) and U+2066–U+2069 (isolates).
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_SPACES = re.compile(r"\s+")
ELLIPSIS = "…"


def clean(text: str, *, keep: str = "") -> str:
    """``text`` without bidi controls; C0/C1 controls, DEL and U+2028/U+2029 become spaces,
    except the characters in ``keep`` (say, newline and tab where lines are allowed)."""
    kept = []
    for char in text:
        if char in BIDI_CONTROLS:
            continue
        if char not in keep and unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        else:
            kept.append(char)
    return "".join(kept)


def multi_line(text: str) -> str:
    """Cleaned, keeping line breaks (as LF) and tabs: a bare CR, which would move a
    terminal's cursor back over what was printed, becomes a line break too."""
    return clean(text.replace("\r\n", "\n").replace("\r", "\n"), keep="\n\t")


def one_line(text: str) -> str:
    """Cleaned, every whitespace run collapsed to one space, trimmed: safe for a header."""
    return _SPACES.sub(" ", clean(text)).strip()


def cap(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut is marked with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[:limit - 1].rstrip() + ELLIPSIS
