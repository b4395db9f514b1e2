"""Verify a Dynaccount webhook (spec §7): ``X-Hash = sha1(url + json_post + api_secret)``.

Whether Dynaccount hashes the URL with or without its scheme is not public, so both variants are checked
(each needs the secret) in constant time, and the caller learns which one matched.
"""

from __future__ import annotations

from typing import Literal

from dsobridge.dynaccount.signing import compute_hash, hashes_equal

WebhookMatch = Literal["without_scheme", "with_scheme"]


def _variants(url: str) -> tuple[str, list[str]]:
    if "://" in url:
        return url.split("://", 1)[1], [url]
    return url, [f"https://{url}", f"http://{url}"]


def verify_webhook(url: str, body: bytes, x_hash: str | None, api_secret: str) -> WebhookMatch | None:
    """Return which URL variant the ``X-Hash`` was computed over, or ``None`` when it matches neither.

    ``url`` is the webhook URL as configured in Dynaccount, with or without ``https://``; when given without
    a scheme the ``with_scheme`` variant tries both ``https://`` and ``http://``. ``body`` is the raw JSON.
    """
    if not x_hash or not api_secret:
        return None
    received = x_hash.strip()
    if len(received) != 40 or not received.isascii():
        return None
    bare, with_scheme = _variants(url)
    plain_ok = hashes_equal(compute_hash(bare, body, api_secret), received)
    scheme_ok = False
    for candidate in with_scheme:  # evaluate every variant: no early exit on a match
        scheme_ok = hashes_equal(compute_hash(candidate, body, api_secret), received) | scheme_ok
    if plain_ok:
        return "without_scheme"
    if scheme_ok:
        return "with_scheme"
    return None
