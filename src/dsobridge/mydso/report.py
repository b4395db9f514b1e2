"""The import report: what the service answered for one file (spec §5), tolerant of extra fields."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dsobridge.mydso.errors import BadResponse

__all__ = ["ImportReport", "RejectedRow", "parse_report"]


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """One row the service refused: ``line`` in the file (header is line 1), the column, the reason code."""

    line: int | None
    column: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The service's answer for one file. ``raw`` keeps the whole JSON object, unknown fields included."""

    success: bool
    error_code: str | None = None
    message: str | None = None
    file_type: str | None = None
    mode: str | None = None
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    cleared: int = 0
    rejected: int = 0
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, obj: Any) -> ImportReport:
        """Build a report from the decoded JSON object; ``BadResponse`` if it is not one."""
        if not isinstance(obj, dict) or "success" not in obj:
            raise BadResponse("the answer is not an import report (no 'success' field)")
        rejected_rows = []
        for item in obj.get("rejected_rows") or []:
            if isinstance(item, dict):
                rejected_rows.append(
                    RejectedRow(
                        line=_int_or_none(item.get("line")),
                        column=_str_or_none(item.get("column")),
                        reason=_str_or_none(item.get("reason")),
                    )
                )
        return cls(
            success=obj.get("success") is True,
            error_code=_str_or_none(obj.get("error_code")),
            message=_str_or_none(obj.get("message")),
            file_type=_str_or_none(obj.get("file_type")),
            mode=_str_or_none(obj.get("mode")),
            rows=_count(obj, "rows"),
            added=_count(obj, "added"),
            updated=_count(obj, "updated"),
            unchanged=_count(obj, "unchanged"),
            cleared=_count(obj, "cleared"),
            rejected=_count(obj, "rejected"),
            rejected_rows=rejected_rows,
            raw=obj,
        )


def parse_report(body: bytes | str) -> ImportReport:
    """Decode a JSON body (numbers as Decimal) into an ``ImportReport``; ``BadResponse`` if it is not one."""
    try:
        obj = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise BadResponse("the answer is not JSON") from None
    return ImportReport.from_json(obj)


def _count(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadResponse(f"field {key!r} is not a count") from None


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
