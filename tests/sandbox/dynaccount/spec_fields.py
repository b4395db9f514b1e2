"""The field names of ``dynaccount-fields.md`` (the shared spec: what public clients of the real API read and
send), parsed from its tables. A copy lives in ``data/`` so the suite runs anywhere; when the shared spec is
reachable (``../shared/spec/`` beside the repository) the tests check that the copy is still the same text.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

COPY = Path(__file__).parent / "data" / "dynaccount-fields.md"
_TICKED = re.compile(r"`([^`]*)`")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_PARENS = re.compile(r"\([^()]*\)")


def shared_spec() -> Path | None:
    """``shared/spec/dynaccount-fields.md`` in a parent of this file, if there is one."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "spec" / "dynaccount-fields.md"
        if candidate.is_file():
            return candidate
    return None


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _names(cell: str) -> list[str]:
    return [name for name in _TICKED.findall(_PARENS.sub("", cell)) if _NAME.match(name)]


def read_only_fields(text: str) -> dict[str, set[str]]:
    """Section A: table → the fields the real get returns and a put must not send."""
    section = text.split("## A.", 1)[1]
    out: dict[str, set[str]] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            table, fields = _cells(line)[:2]
            out[_TICKED.findall(table)[0]] = set(_names(fields))
    return out


def sent_fields(text: str, tables: set[str]) -> dict[str, set[str]]:
    """Section B: table → the fields the official library's flows read and send (actions left out)."""
    section = text.split("## B.", 1)[1].split("## A.", 1)[0]
    out: dict[str, set[str]] = defaultdict(set)
    for line in section.splitlines():
        cells = _cells(line)
        if len(cells) != 3 or cells[0] in ("step", "---"):
            continue
        named = [name for name in _TICKED.findall(cells[1]) if name in tables]
        if named:
            out[named[0]] |= set(_names(cells[2]))
    return dict(out)


def all_fields(text: str, tables: set[str]) -> dict[str, set[str]]:
    merged: dict[str, set[str]] = defaultdict(set)
    for part in (read_only_fields(text), sent_fields(text, tables)):
        for table, names in part.items():
            merged[table] |= names
    return dict(merged)
