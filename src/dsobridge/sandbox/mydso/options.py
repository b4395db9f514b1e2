"""Import options (spec §2) from a query string or, for the FTP drop, from the file name (spec §1.3)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass

from dsobridge.sandbox.mydso.reader import ImportFailed

__all__ = ["KINDS", "ImportOptions", "kind_from_filename", "options_from_filename", "options_from_query"]

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


def _codec(name: str) -> str | None:
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


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
            codec = _codec(value.strip())
            if codec is None:
                raise ImportFailed("BAD_OPTION", f"option encoding: unknown encoding {value!r}")
            encoding = codec
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
    encoding name (``items_20261120.stock.iso-8859-1.csv``). Other tokens (dates, extensions) are ignored.
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
        elif lowered not in ("csv", "txt", "json") and not lowered.isdigit() and (codec := _codec(lowered)):
            encoding = codec
    return ImportOptions(encoding=encoding, stock=stock, replace_users_association=replace)
