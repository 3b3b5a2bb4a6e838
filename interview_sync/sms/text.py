"""SMS body rules: GSM-7 fitting and segment counting.

A text of up to 160 GSM-7 characters is one segment; anything outside GSM-7
(an "á", a curly quote) switches the whole text to UCS-2 and its limit to 70.
Spanish needs é, ñ, ¿, ¡ (all GSM-7) and á, í, ó, ú (not): we fold the latter
to plain vowels in texts, a common practice on phones, so a Spanish reminder
stays one segment and costs what an English one does.
"""

from __future__ import annotations

# GSM 03.38 basic character set, and the extension table (each costs two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

_FOLD = str.maketrans({
    "á": "a", "í": "i", "ó": "o", "ú": "u", "Á": "A", "Í": "I", "Ó": "O", "Ú": "U", "â": "a", "ê": "e",
    "ô": "o", "ç": "c", "È": "E", "ï": "i", "ë": "e",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2026": "...", "\u00a0": " ", "\u2022": "-",
})


def gsm_fold(text: str) -> str:
    """Replace the characters that would force UCS-2 by their nearest GSM-7 look-alike."""
    return text.translate(_FOLD)


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def segments(text: str) -> int:
    """How many segments a carrier bills ``text`` as (153/67 per part once concatenated)."""
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, part = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    if units <= single:
        return 1
    return -(-units // part)
