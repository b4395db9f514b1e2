"""How a line of text becomes bytes: the requested encoding, a BOM only in the header, transliteration.

Every line is encoded on its own, so that a line's bytes do not depend on the lines before it (the sync
engine stores and hashes each line). A codec that writes a BOM (``UTF-16``, ``UTF-32``, ``utf-8-sig``) writes
it at the start of every encoding: the header keeps it and each data line drops it (``bom_length``), which
gives exactly the bytes of the whole file encoded at once.
"""

from __future__ import annotations

import codecs
import unicodedata

__all__ = ["TRANSLITERATE", "bom_length", "transliterate"]

TRANSLITERATE = "dsobridge-transliterate"
"""The codec error handler that replaces what the encoding cannot hold by ``transliterate``."""

_SPELLINGS = {
    "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "å": "a", "Å": "A", "ß": "ss", "ẞ": "SS", "œ": "oe", "Œ": "OE",
    "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i",
    "€": "EUR", "£": "GBP", "–": "-", "—": "-", "‘": "'", "’": "'", "‚": ",", "“": '"', "”": '"',
    "„": '"', "…": "...", "•": "*", "\u00a0": " ", "\u202f": " ", "™": "TM", "©": "(c)", "®": "(R)",
}  # fmt: skip


def _fits(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _transliterate_char(ch: str, encoding: str) -> str:
    """The character itself, else its usual spelling, else its letter without accents, else ``?``."""
    for candidate in (ch, _SPELLINGS.get(ch)):
        if candidate is not None and _fits(candidate, encoding):
            return candidate
    stripped = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return stripped if stripped and _fits(stripped, encoding) else "?"


def transliterate(text: str, encoding: str) -> str:
    """Return ``text`` with every character ``encoding`` cannot hold replaced by a close ASCII spelling."""
    return "".join(_transliterate_char(ch, encoding) for ch in text)


def _transliterate_error(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return transliterate(exc.object[exc.start : exc.end], exc.encoding), exc.end


codecs.register_error(TRANSLITERATE, _transliterate_error)


def bom_length(encoding: str) -> int:
    """How many bytes ``encoding`` writes before any text: its BOM (``UTF-16``, ``utf-8-sig``…), else 0."""
    return len("".encode(encoding))
