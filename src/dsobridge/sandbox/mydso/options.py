"""Import options (spec §2) from a query string or, for the FTP drop, from the file name (spec §1.3)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass

from dsobridge.sandbox.mydso.reader import ImportFailed

__all__ = [
    "KINDS",
    "ImportOptions",
    "kind_from_filename",
    "options_from_filename",
    "options_from_query",
    "text_encoding",
]

KINDS = ("items", "clients", "contacts", "users")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_TEMPORARY_SUFFIXES = (".part", ".tmp", ".filepart", ".partial", ".crdownload", "~", ".report.json")
_KIND_PREFIX = re.compile(r"(clients|items|contacts|users)", re.IGNORECASE)


@dataclass(frozen=True)
class ImportOptions:
    encoding: str = "utf-8"
    stock: bool = False  # clear_items_not_modified
    replace_users_association: bool = False

    @property
    def mode(self) -> str:
        return "STOCK" if self.stock else "DELTA"


# Python's own transformations, not character sets a file is written in: they cannot decode a CSV file
# (``undefined`` always fails, ``punycode``/``idna`` fail on ordinary text, the escape codecs rewrite ``\``)
_NOT_FILE_ENCODINGS = frozenset(
    {"undefined", "punycode", "idna", "mbcs", "oem", "unicode-escape", "raw-unicode-escape"}
)
_PROBE = '"client_code";"item_number",\t1 200,50 -.5 \\+ AZaz09\r\n'
_CSV_SYNTAX = '";,\t\r\n'  # the reader splits lines and finds separators in these bytes


def text_encoding(name: str) -> str:
    """The codec's canonical name when ``name`` is a text encoding a CSV file can be written in, else
    ``BAD_ENCODING``: an unknown name, a name holding a control character (a NUL), a binary or text transform
    (``base64``, ``hex``, ``zip``, ``rot13``) or one of Python's own codecs that cannot decode a file.
    ``utf-16``/``utf-32`` without a byte order are accepted here; the file then needs a BOM (reader).
    """
    info = None
    if name.strip() and name.isprintable() and len(name) <= 64:
        try:
            info = codecs.lookup(name.strip())
        except (LookupError, ValueError, TypeError):
            info = None
    if info is None or not getattr(info, "_is_text_encoding", True) or info.name in _NOT_FILE_ENCODINGS:
        raise ImportFailed("BAD_ENCODING", f"option encoding: {name!r} is not a text encoding for CSV files")
    if not _carries_csv(info.name):
        raise ImportFailed("BAD_ENCODING", f"option encoding: {name!r} cannot decode CSV files")
    return info.name


def _carries_csv(codec: str) -> bool:
    """A plain CSV line survives encoding and incremental decoding, and (but for UTF-16/32, read as text)
    the line breaks and separators are their ASCII bytes (not so in EBCDIC)."""
    try:
        encoded = _PROBE.encode(codec)
        decoded = codecs.getincrementaldecoder(codec)().decode(encoded, final=True)
        encoder = codecs.getincrementalencoder(codec)()
        encoder.encode("x")  # past a signature (utf-8-sig)
        ascii_syntax = encoder.encode(_CSV_SYNTAX) == _CSV_SYNTAX.encode("ascii")
    except (UnicodeError, ValueError, TypeError, LookupError):
        return False
    return decoded == _PROBE and (ascii_syntax or codec.startswith(("utf-16", "utf-32")))


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImportFailed("BAD_OPTION", f"option {name}: {value!r} is not one of true/false/1/0")


def options_from_query(params: Mapping[str, str]) -> ImportOptions:
    """Validate the three options; an unknown option name or value is ``BAD_OPTION`` (a typo must not turn
    a STOCK import into a DELTA one silently). Options that do not apply to the file type are ignored.
    """
    encoding, stock, replace = "utf-8", False, False
    for name, value in params.items():
        if name == "encoding":
            encoding = text_encoding(value)
        elif name == "clear_items_not_modified":
            stock = _flag(name, value)
        elif name == "replace_users_association":
            replace = _flag(name, value)
        else:
            raise ImportFailed("BAD_OPTION", f"unknown option {name!r}")
    return ImportOptions(encoding=encoding, stock=stock, replace_users_association=replace)


def kind_from_filename(name: str) -> str | None:
    """The file type a dropped file's name announces, or None when it must be ignored (temporary names)."""
    lowered = name.lower()
    if lowered.endswith(_TEMPORARY_SUFFIXES) or not _KIND_PREFIX.match(name):
        return None
    match = _KIND_PREFIX.match(name)
    return match.group(1).lower() if match else None


def options_from_filename(name: str) -> ImportOptions:
    """Dot-separated tokens of the name: ``stock``/``delta``, ``replace``/``add`` (users) and any text
    encoding name (``items_20261120.stock.iso-8859-1.csv``). Other tokens (dates, extensions) are ignored,
    except a token Python knows as a codec that is not a usable text encoding (``items.hex.csv``,
    ``items.csv.zip``): that is ``BAD_ENCODING``, not a silent UTF-8.
    """
    encoding, stock, replace = "utf-8", False, False
    for token in name.split(".")[1:]:
        lowered = token.lower()
        if lowered == "stock":
            stock = True
        elif lowered == "delta":
            stock = False
        elif lowered in ("replace", "replace_users_association"):
            replace = True
        elif lowered == "add":
            replace = False
        elif lowered not in ("csv", "txt", "json") and not lowered.isdigit() and _is_codec_name(lowered):
            encoding = text_encoding(lowered)
    return ImportOptions(encoding=encoding, stock=stock, replace_users_association=replace)


def _is_codec_name(token: str) -> bool:
    try:
        codecs.lookup(token)
    except (LookupError, ValueError, TypeError):
        return False
    return True
