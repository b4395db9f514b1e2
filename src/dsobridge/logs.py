"""Log lines for the people who run dsobridge: stderr only, a timestamp with its zone, the company, the run.

    setup_logging("INFO", "text")
    with bind_context(company=CompanyRef(592912, "acme-api")), bind_context(run_id=42):
        logging.getLogger("dsobridge.sync").warning("…")
    # 2026-12-05T23:14:07.123+01:00 WARNING 592912→acme-api run=42 dsobridge.sync: …

Results (tables, ``column=value`` lines, ``--json`` documents) are the commands' business and go to stdout;
nothing here ever writes to stdout. Every line passes a redaction filter that masks every secret value
revealed in this process (``dsobridge.secret``) and the key segment of any Dynaccount URL path. See
docs/operations.md for the formats and the options.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, TextIO, TypeVar

from dsobridge.secret import remember, revealed_values

__all__ = [
    "DEFAULT_LEVEL",
    "LOG_FORMATS",
    "MASK_MIN_LENGTH",
    "QUIET_LIBRARIES",
    "ContextFilter",
    "JsonFormatter",
    "RedactionFilter",
    "TextFormatter",
    "bind_context",
    "contextual",
    "current_context",
    "parse_level",
    "redact",
    "register_secret",
    "setup_logging",
    "teardown_logging",
    "use_config_defaults",
    "verbosity_level",
]

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_LEVEL = logging.WARNING
LOG_FORMATS = ("text", "json")
#: Secrets shorter than this are not masked by value (masking every "abc" would garble the lines).
MASK_MIN_LENGTH = 4
#: Third-party loggers and the level they are held at unless the level is DEBUG (``-vv``).
QUIET_LIBRARIES: dict[str, int] = {
    "httpx2": logging.WARNING,
    "httpcore2": logging.WARNING,
    "uvicorn": logging.WARNING,
    "apprise": logging.ERROR,
    "asyncio": logging.WARNING,
    "mail.log": logging.WARNING,  # aiosmtpd
}

# ----------------------------------------------------------------------------------------------- redaction


def register_secret(value: str) -> None:
    """Mask ``value`` in every log line from now on (``Secret.reveal()`` registers its value by itself)."""
    remember(value)


def redact(text: str) -> str:
    """``text`` with every registered secret and every Dynaccount URL key segment replaced by ``***``."""
    from dsobridge.dynaccount.redact import redact_secrets  # here: that package imports httpx2

    secrets = sorted((v for v in revealed_values() if len(v) >= MASK_MIN_LENGTH), key=len, reverse=True)
    return redact_secrets(text, *secrets)


class RedactionFilter(logging.Filter):
    """Rewrites a record's message, exception text and stack so that no secret and no URL key reaches a
    handler's output (the record is changed in place: every later handler sees the redacted text too)."""

    _exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken logging call: the handler reports it as logging always does
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# ------------------------------------------------------------------------------------------------- context

_company: contextvars.ContextVar[str | None] = contextvars.ContextVar("dsobridge_company", default=None)
_run_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("dsobridge_run_id", default=None)
_KEEP: Any = object()


@contextmanager
def bind_context(*, company: Any = _KEEP, run_id: Any = _KEEP) -> Iterator[None]:
    """Name the company (a ``CompanyRef`` or its label) and/or the run id on every log line in this block.

    What is not given is kept from an enclosing block, so the runner can bind the company and the engine
    the run id once it has one. Threads do not inherit it: start them through :func:`contextual`.
    """
    tokens: list[tuple[contextvars.ContextVar[Any], contextvars.Token[Any]]] = []
    if company is not _KEEP:
        tokens.append((_company, _company.set(None if company is None else str(company))))
    if run_id is not _KEEP:
        tokens.append((_run_id, _run_id.set(run_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_context() -> tuple[str | None, int | None]:
    """``(company label, run id)`` bound here (``None`` where nothing is bound)."""
    return _company.get(), _run_id.get()


def contextual(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` made to run in a copy of the caller's context (company, run id), whichever thread calls it.

    ``threading.Thread(target=contextual(work))``, ``executor.submit(contextual(work), …)``: a thread starts
    with an empty context otherwise, and its log lines would name no company. Each call gets its own copy, so
    one wrapped function may run in several threads at once.
    """
    context = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return context.copy().run(fn, *args, **kwargs)

    return run


class ContextFilter(logging.Filter):
    """Puts ``company`` and ``run_id`` on a record (from the bound context, unless ``extra=`` gave them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "company"):
            record.company = _company.get()
        if not hasattr(record, "run_id"):
            record.run_id = _run_id.get()
        return True


# ------------------------------------------------------------------------------------------------- formats


def _timestamp(record: logging.LogRecord) -> str:
    """``2026-12-05T23:14:07.123+01:00``: local time with the offset in force at that instant."""
    return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


def _exception_text(record: logging.LogRecord, formatter: logging.Formatter) -> str | None:
    parts = []
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts) or None


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <company|-> run=<id|-> <logger>: <message>``, then the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        company = getattr(record, "company", None) or "-"
        run_id = getattr(record, "run_id", None)
        line = (
            f"{_timestamp(record)} {record.levelname} {company} run={'-' if run_id is None else run_id} "
            f"{record.name}: {record.getMessage()}"
        )
        extra = _exception_text(record, self)
        return f"{line}\n{extra}" if extra else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, always these keys: ``ts level logger company run_id message exception``."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "ts": _timestamp(record),
                "level": record.levelname,
                "logger": record.name,
                "company": getattr(record, "company", None),
                "run_id": getattr(record, "run_id", None),
                "message": record.getMessage(),
                "exception": _exception_text(record, self),
            },
            ensure_ascii=False,
            default=str,
        )


# --------------------------------------------------------------------------------------------------- setup


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (Click's test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


@dataclass
class _Installed:
    handler: logging.Handler
    stream: TextIO | None
    level: int | None  # None: not chosen (DEFAULT_LEVEL, until a config default is applied)
    fmt: str | None
    saved_levels: dict[str, int]  # "" is the root logger


_installed: _Installed | None = None


def parse_level(level: int | str) -> int:
    """``"info"``, ``"WARNING"``, ``"warn"``, ``20`` → a logging level; ``ValueError`` otherwise."""
    if isinstance(level, int):
        return level
    name = level.strip().upper()
    name = "WARNING" if name == "WARN" else name
    value = logging.getLevelNamesMapping().get(name)
    if value is None or name == "NOTSET":
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning, error or critical")
    return value


def verbosity_level(verbose: int, quiet: int) -> int | None:
    """``-v`` INFO, ``-vv`` DEBUG, ``-q`` ERROR, ``-qq`` CRITICAL; ``None`` when neither was given."""
    if not verbose and not quiet:
        return None
    return min(max(DEFAULT_LEVEL - 10 * verbose + 10 * quiet, logging.DEBUG), logging.CRITICAL)


def setup_logging(
    level: int | str | None = None, fmt: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Install THE dsobridge handler on the root logger (replacing one installed before) and return it.

    ``level`` (default WARNING) and ``fmt`` (``"text"``, default, or ``"json"``) left as ``None`` count as
    not chosen: :func:`use_config_defaults` may still set them. ``stream`` defaults to the current stderr.
    Below DEBUG the libraries in :data:`QUIET_LIBRARIES` are held at their level.
    """
    global _installed
    chosen_level = None if level is None else parse_level(level)
    if fmt is not None and fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: use text or json")
    teardown_logging()
    effective = DEFAULT_LEVEL if chosen_level is None else chosen_level
    handler: logging.Handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setLevel(effective)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    saved = {"": root.level} | {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    _installed = _Installed(handler, stream, chosen_level, fmt, saved)
    root.addHandler(handler)
    root.setLevel(effective)
    for name, quiet in QUIET_LIBRARIES.items():  # at DEBUG they follow the root
        level_here = logging.NOTSET if effective <= logging.DEBUG else max(quiet, effective)
        logging.getLogger(name).setLevel(level_here)
    return handler


def use_config_defaults(level: str | None = None, fmt: str | None = None) -> None:
    """Apply a config file's ``[logging] level/format`` where the command line and environment chose none."""
    if _installed is None:
        setup_logging(level, fmt)
        return
    new_level = _installed.level if _installed.level is not None or not level else parse_level(level)
    new_fmt = _installed.fmt if _installed.fmt is not None or not fmt else fmt
    if (new_level, new_fmt) != (_installed.level, _installed.fmt):
        setup_logging(new_level, new_fmt, _installed.stream)


def teardown_logging() -> None:
    """Remove the handler :func:`setup_logging` installed and restore the levels it changed."""
    global _installed
    if _installed is None:
        return
    root = logging.getLogger()
    root.removeHandler(_installed.handler)
    for name, level in _installed.saved_levels.items():
        (logging.getLogger(name) if name else root).setLevel(level)
    _installed = None
