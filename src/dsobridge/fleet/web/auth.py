"""Logging in to the dashboard: the session, the CSRF token of every form, the login throttle.

The session is a cookie signed with ``$DSOBRIDGE_FLEET_SESSION_KEY`` (Starlette's ``SessionMiddleware``,
itsdangerous), ``HttpOnly``, ``SameSite=Lax``, ``Secure`` behind an https public address. It holds the user's
name, the moment they logged in (the database's clock) and the CSRF token — never a password or a secret.
A session ends at logout, after ``session_hours``, or when the user's password is changed or the user is
removed. Every POST form carries the session's CSRF token, compared in constant time.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from dsobridge.fleet.web.users import User
from dsobridge.sync.webhook import WebhookRefused, read_body

USER, SINCE, CSRF, FLASH = "user", "since", "csrf", "flash"
MAX_FORM = 16 * 1024  # bytes: our forms are a few fields


class PageRefused(WebhookRefused):
    """A request the dashboard answers with a 4xx page (a status and a code, as webhook refusals)."""


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get(CSRF)
    if not isinstance(token, str) or not token:
        token = session[CSRF] = secrets.token_urlsafe(32)
    return token


def check_csrf(session: MutableMapping[str, Any], submitted: str | None) -> None:
    expected = session.get(CSRF)
    if not (isinstance(expected, str) and expected and submitted) or not secrets.compare_digest(
        expected.encode(), submitted.encode()
    ):
        raise PageRefused(403, "CSRF_REFUSED", "the form is out of date or not ours: reload the page")


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form (413 beyond ``MAX_FORM`` bytes, read no further; 400 if it does not parse)."""
    body = await read_body(request, MAX_FORM)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise PageRefused(400, "BAD_FORM", "the form does not parse") from None
    return dict(pairs)


async def checked_form(request: Request) -> dict[str, str]:
    """The form of a POST, after its CSRF token was checked against the session's."""
    form = await read_form(request)
    check_csrf(request.session, form.get("csrf"))
    return form


def start_session(session: MutableMapping[str, Any], user: User) -> None:
    """A fresh session for ``user`` (nothing kept from before the login: no fixation)."""
    session.clear()
    since = user.last_login_at or user.sessions_from
    session.update({USER: user.name, SINCE: since.timestamp(), CSRF: secrets.token_urlsafe(32)})


def session_user(session: MutableMapping[str, Any], user: User | None, hours: float) -> User | None:
    """``user`` (as read by the session's name) if the session is still valid for them; else clears it."""
    since = session.get(SINCE)
    valid = (
        user is not None
        and isinstance(since, int | float)
        and since >= user.sessions_from.timestamp()
        and time.time() - since < hours * 3600
    )
    if not valid:
        session.pop(USER, None)
        session.pop(SINCE, None)
        return None
    return user


def flash(session: MutableMapping[str, Any], message: str) -> None:
    session[FLASH] = message


def take_flash(session: MutableMapping[str, Any]) -> str | None:
    message = session.pop(FLASH, None)
    return message if isinstance(message, str) else None


class LoginThrottle:
    """At most ``per_name`` failed logins per user name, and ``per_client`` per client address, in
    ``window`` seconds; beyond, the login answers 429 without looking at the password. In memory: one serve
    process keeps its own count (a restart forgets it)."""

    def __init__(
        self,
        *,
        per_name: int = 5,
        per_client: int = 20,
        window: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"name": per_name, "client": per_client}
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def retry_after(self, name: str, client: str) -> float:
        """Seconds until a login for this name from this client may be tried again (0: now)."""
        now = self.clock()
        wait = 0.0
        for key in (("name", name.lower()), ("client", client)):
            recent = self._recent(key, now)
            if len(recent) >= self.limits[key[0]]:
                wait = max(wait, recent[0] + self.window - now)
        return wait

    def failed(self, name: str, client: str) -> None:
        now = self.clock()
        if len(self._failures) > 10_000:  # many names or clients: drop the ones whose failures expired
            for key in list(self._failures):
                self._recent(key, now)
        for key in (("name", name.lower()), ("client", client)):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, name: str) -> None:
        self._failures.pop(("name", name.lower()), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        recent = self._failures.get(key, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if not recent:
            self._failures.pop(key, None)
        return recent
