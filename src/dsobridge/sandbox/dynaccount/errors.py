"""The sandbox's error answers, one class per row of the table in ``docs/dynaccount-wire.md``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: ``status`` and the ``{"error": …}`` "
    "mapping. Never carries a secret or the URL path."""

    status = 400

    def __init__(self, error: dict[str, Any], *, status: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        if status is not None:
            self.status = status


class Invalid(ApiError):
    """400 with field → message (put, action) or line → {field → message} (insert_bulk)."""


class BadRequest(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__({"request": message})


class NotFound(ApiError):
    status = 404

    def __init__(self, message: str) -> None:
        super().__init__({"not_found": message})


class Unauthorized(ApiError):
    status = 401


class Unsupported(ApiError):
    def __init__(self, action: str) -> None:
        super().__init__({"action": f"Action '{action}' is not supported by the sandbox"})


class TooLarge(ApiError):
    status = 413

    def __init__(self) -> None:
        super().__init__({"request": "Request body too large (limit 20 MiB)"})
