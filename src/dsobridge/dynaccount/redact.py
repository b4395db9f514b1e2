"""Keep the API key (it travels in the URL path) and the secret out of log records and messages."""

from __future__ import annotations

import logging
import re

# /v5/1234/<key>/... → /v5/1234/***/...  (any version, any id, any key-like segment)
_PATH_KEY = re.compile(r"(/v\d+/[^/?#\s]+/)[^/?#\s]+")

#: The third-party loggers that print request URLs (httpx2 logs every request URL at INFO).
URL_LOGGERS = ("httpx2", "httpcore2.http11", "httpcore2.http2", "httpcore2.connection", "httpcore2.proxy")


def redact_path(text: str) -> str:
    """Replace the API key segment of any Dynaccount URL path in ``text`` with ``***``."""
    return _PATH_KEY.sub(r"\1***", text)


def redact_secrets(text: str, *secrets: str) -> str:
    """Redact Dynaccount paths and every literal occurrence of the given secrets."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return redact_path(text)


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites a record's message so no Dynaccount URL path shows the key."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_path(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


_FILTER = RedactingFilter()


def install_url_log_filter() -> None:
    """Attach the redacting filter to the HTTP libraries' loggers (idempotent)."""
    for name in URL_LOGGERS:
        log = logging.getLogger(name)
        if _FILTER not in log.filters:
            log.addFilter(_FILTER)
