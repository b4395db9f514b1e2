"""Errors that say what to do: ONE mapping from an exception to an operator's message and next step.

    explain(exc, company=CompanyRef(592912, "acme-api", dynaccount_url=…))
    → Explanation(summary="Dynaccount refused the request signature: the API_SECRET is wrong (…)",
                  action="check DSOBRIDGE_DYNACCOUNT_API_SECRET … for accounting 592912",
                  kind="dynaccount_signature")

Used by ``dsobridge check`` (each check's detail, kind and action), by ``sync`` for a failed run, and by the
alerts. ``kind`` is a stable code for machines (:data:`KINDS`, docs/operations.md). Texts never hold a secret
nor a Dynaccount URL path: they are built from the exceptions' own (already scrubbed) texts and the
company's non-secret settings, and pass :func:`dsobridge.logs.redact` on the way out.

The sync package's exceptions (``ExtractionError``, ``Locked``, ``StateMismatch``, ``GuardRefusal``,
``ConfigError``) are recognised by class name, so this module does not depend on that package.
"""

from __future__ import annotations

import errno
import re
import socket
import sqlite3
import ssl
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from dsobridge.company import CompanyRef, host_port
from dsobridge.logs import redact

__all__ = ["KINDS", "CheckResult", "Explanation", "explain", "explain_refusal"]

#: Every ``kind`` :func:`explain` returns (stable: monitoring may match on them).
KINDS = (
    "dynaccount_signature",  # API_SECRET wrong
    "dynaccount_auth",  # API_ID / API_KEY unknown
    "mydso_auth",  # My DSO Manager login or password (HTTP 401, FTP 530)
    "dns",  # host name not found
    "connect",  # connection refused, network unreachable
    "timeout",  # no connection or no answer in time
    "tls",  # certificate or handshake
    "connection_lost",  # connection dropped mid-answer
    "network",  # another transport failure
    "server_error",  # HTTP 5xx after the retries
    "rate_limited",  # HTTP 429
    "bad_response",  # not the API's answer (a web page, a proxy)
    "not_found",  # Dynaccount: unknown table / row / path
    "dynaccount_rejected",  # Dynaccount refused the request's content
    "import_rejected",  # My DSO Manager refused a file (error code)
    "import_timeout",  # an import's report did not come in time
    "ftp",  # another FTP delivery failure
    "row_error",  # a row could not be written as a valid CSV row
    "state_locked",  # another run holds the lock
    "state_mismatch",  # the state store belongs to another company
    "state_store",  # the state store cannot be used
    "config",  # configuration error
    "filesystem",  # a file or folder cannot be read or written (permissions, disk full)
    "refused",  # a safety guard refused the run
    "unexpected",  # anything else (a bug: report it)
)


@dataclass(frozen=True)
class Explanation:
    """What went wrong (``summary``), what to do about it (``action``), and a stable code (``kind``)."""

    summary: str
    action: str
    kind: str

    def __str__(self) -> str:
        return f"{self.summary} — {self.action}"


@dataclass(frozen=True)
class CheckResult:
    """One line of ``dsobridge check``; ``to_json()`` is its ``check --json`` object."""

    check: str
    ok: bool
    detail: str
    kind: str = "ok"
    action: str | None = None

    @classmethod
    def passed(cls, check: str, detail: str) -> CheckResult:
        return cls(check, True, redact(detail))

    @classmethod
    def failed(cls, check: str, exc: BaseException, *, company: CompanyRef) -> CheckResult:
        why = explain(exc, company=company)
        return cls(check, False, why.summary, why.kind, why.action)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def explain(exc: BaseException, *, company: CompanyRef) -> Explanation:
    """The operator's message for ``exc`` (any exception: unknown ones are ``unexpected``)."""
    why = _explain(exc, company)
    return Explanation(redact(why.summary), redact(why.action), why.kind)


def explain_refusal(text: str) -> Explanation:
    """A run refused by a safety guard (the guard's text names the cause and the override)."""
    return Explanation(
        redact(text),
        "no item was sent or cleared: read `dsobridge show RUN`; fix the cause in Dynaccount or in the "
        "config, or run again with the override the message names once you are sure",
        "refused",
    )


# ------------------------------------------------------------------------------------------------ dispatch


@dataclass(frozen=True)
class _End:
    """The service an error came from, and the settings that say where it is."""

    name: str
    section: str  # "[dynaccount]"; "" when the error names no configured service
    url: str

    @property
    def where(self) -> str:
        return host_port(self.url) or self.url or "its address"

    @property
    def address_setting(self) -> str:
        if not self.section:
            return "the address in the config"
        return f"{self.section} base_url ({self.url})" if self.url else f"{self.section} base_url"

    @property
    def timeout_setting(self) -> str:
        return f"{self.section} timeout" if self.section else "the timeout in the config"


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _module(exc: BaseException) -> str:
    return type(exc).__module__


def _explain(exc: BaseException, company: CompanyRef) -> Explanation:
    names = _names(exc)
    for name, handler in _BY_NAME:
        if name in names:
            return handler(exc, company)
    module = _module(exc)
    if module.startswith("dsobridge.dynaccount"):
        return _dynaccount(exc, company)
    if module.startswith("dsobridge.mydso"):
        return _mydso(exc, company)
    if isinstance(exc, sqlite3.Error):
        return _state_store(exc, company)
    if _is_transport(exc):
        return _network(exc, _End("the service", "", ""))
    if isinstance(exc, OSError):
        return _filesystem(exc)
    return _unexpected(exc)


def _is_transport(exc: BaseException) -> bool:
    network = isinstance(exc, ConnectionError | TimeoutError | socket.gaierror | ssl.SSLError)
    return network or _module(exc).startswith(("httpx", "httpcore"))


def _filesystem(exc: OSError) -> Explanation:
    where = f": {exc.filename}" if exc.filename else ""
    return Explanation(
        f"{exc.strerror or type(exc).__name__}{where}",
        "check that the path exists and this user may write there, and that the disk is not full",
        "filesystem",
    )


def _unexpected(exc: BaseException) -> Explanation:
    return Explanation(
        f"unexpected error: {type(exc).__name__}: {exc}",
        "run the command again with -vv and send the log (it holds no secret) to whoever maintains dsobridge",
        "unexpected",
    )


def _dynaccount_end(company: CompanyRef) -> _End:
    return _End("Dynaccount", "[dynaccount]", company.dynaccount_url)


def _mydso_end(company: CompanyRef) -> _End:
    return _End("My DSO Manager", "[mydso]", company.mydso_url)


# ----------------------------------------------------------------------------------------- the sync package


def _extraction(exc: BaseException, company: CompanyRef) -> Explanation:
    table = getattr(exc, "table", "?")
    cause = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    if cause is None:
        cause_type = getattr(exc, "cause_type", "an error")
        inner = Explanation(
            f"{cause_type}",
            "run again with -v to see the failing request, then `dsobridge check`",
            _KIND_BY_CAUSE_TYPE.get(cause_type, "unexpected"),
        )
    else:
        inner = _explain(cause, company)
    summary = f"reading {table!r} from Dynaccount failed, no item was sent or cleared: {inner.summary}"
    return Explanation(summary, inner.action, inner.kind)


#: When an ``ExtractionError`` kept only its cause's type name.
_KIND_BY_CAUSE_TYPE = {
    "AuthError": "dynaccount_auth",
    "RateLimited": "rate_limited",
    "ServerError": "server_error",
    "TransportError": "network",
    "BadResponse": "bad_response",
    "NotFound": "not_found",
    "ValidationError": "dynaccount_rejected",
}


def _first_clause(text: str) -> str:
    return text.split(";")[0].strip() or text


def _locked(exc: BaseException, company: CompanyRef) -> Explanation:
    return Explanation(
        _first_clause(str(exc)) or "another sync run holds the lock",
        "wait for that run to end (a DELTA run overlapping the nightly one is harmless); a lock left by a "
        "process that no longer exists on this host is taken over by the next run",
        "state_locked",
    )


def _the_state_store(company: CompanyRef) -> str:
    return f"the state store {company.state_path}" if company.state_path else "the state store"


def _state_mismatch(exc: BaseException, company: CompanyRef) -> Explanation:
    return Explanation(
        f"{_the_state_store(company)} belongs to another company: {exc}",
        f"give each company its own state file ([sync] state in the config of {company.label}); "
        "never point two accountings at one file",
        "state_mismatch",
    )


def _state_store(exc: BaseException, company: CompanyRef) -> Explanation:
    return Explanation(
        f"{_the_state_store(company)} cannot be used: {type(exc).__name__}: {exc}",
        "check that the file and its folder are writable by this user and the disk is not full "
        "([sync] state in the config; `dsobridge check` shows the path)",
        "state_store",
    )


def _config(exc: BaseException, company: CompanyRef) -> Explanation:
    return Explanation(
        f"configuration error: {exc}",
        "fix the config file or the secrets (docs/configuration.md), then run `dsobridge check`",
        "config",
    )


def _guard(exc: BaseException, company: CompanyRef) -> Explanation:
    return explain_refusal(str(exc))


_BY_NAME: list[tuple[str, Callable[[BaseException, CompanyRef], Explanation]]] = [
    ("ExtractionError", _extraction),
    ("Locked", _locked),
    ("StateMismatch", _state_mismatch),
    ("StateError", _state_store),
    ("GuardRefusal", _guard),
    ("ConfigError", _config),
]


# ---------------------------------------------------------------------------------------------- Dynaccount


def _dynaccount(exc: BaseException, company: CompanyRef) -> Explanation:
    from dsobridge.dynaccount import errors as dyn

    end = _dynaccount_end(company)
    api_id = company.api_id
    operation = getattr(exc, "operation", None) or "a request"
    if isinstance(exc, dyn.AuthError):
        error = getattr(exc, "error", None)
        if (isinstance(error, dict) and "hash" in error) or "signature" in str(exc):
            return Explanation(
                "Dynaccount refused the request signature: the API_SECRET is wrong "
                f"(API_ID {api_id} and its API_KEY were accepted)",
                f"check DSOBRIDGE_DYNACCOUNT_API_SECRET (or dynaccount_api_secret in the secrets file) "
                f"for accounting {api_id}",
                "dynaccount_signature",
            )
        return Explanation(
            f"Dynaccount does not accept API_ID {api_id} with this API_KEY",
            f"check [dynaccount] api_id ({api_id}) in the config and DSOBRIDGE_DYNACCOUNT_API_KEY "
            "(or dynaccount_api_key in the secrets file): both must be those of the same accounting",
            "dynaccount_auth",
        )
    if isinstance(exc, dyn.RateLimited):
        return _rate_limited(end, f"{operation}")
    if isinstance(exc, dyn.ServerError):
        return _server_error(end, getattr(exc, "status", None), operation)
    if isinstance(exc, dyn.TransportError):
        return _network(exc, end)
    if isinstance(exc, dyn.NotFound):
        return Explanation(
            f"{exc}",
            f"check {end.address_setting} and [dynaccount] version (v5 or v7): they must name the API itself",
            "not_found",
        )
    if isinstance(exc, dyn.ValidationError):
        return Explanation(
            f"{exc}",
            "if it names a field from a [mapping] override, check that field's name; otherwise run again "
            "with -vv and report the log (it holds no secret)",
            "dynaccount_rejected",
        )
    if isinstance(exc, dyn.BadResponse):
        return _bad_response(exc, end)
    return _unexpected(exc)


# ------------------------------------------------------------------------------------------ My DSO Manager

_HTTP_STATUS = re.compile(r"HTTP (\d{3})")
_FTP_WHERE = re.compile(r"(?:FTP connection to|FTPS certificate of|FTPS handshake with|FTP server) (\S+)")

_IMPORT_CODES: dict[str, tuple[str, str]] = {
    "CSV_BAD_SYNTAX": (
        "it could not be parsed (a header is duplicated, missing or unknown)",
        "a [mapping] override may name a column twice: write the files with `dsobridge export DIR` and check "
        "them with `dsobridge mydso check KIND FILE`; report it if they look right",
    ),
    "BAD_ENCODING": (
        "its bytes are not valid in the encoding it declares",
        'set [format] encoding = "UTF-8", or transliterate = true for a narrower encoding',
    ),
    "TOO_LARGE": (
        "it is over the service's size limit (HTTP 413)",
        'deliver through the asynchronous import ([mydso] channel = "async") or FTP, or send fewer rows '
        "(--only, a shorter --history)",
    ),
    "BAD_OPTION": (
        "an import option was refused",
        "check [format] decimal_style and encoding; if they are right, report it",
    ),
    "UNKNOWN_TYPE": (
        "the import address is not one of the four file types",
        "check that [mydso] base_url points at the service's import API",
    ),
    "CSV_EMPTY": (
        "it has no data row",
        "check the [filters] of the config: they may exclude every debtor",
    ),
    "JOB_FAILED": (
        "the asynchronous import job failed",
        'run again; if it repeats, use [mydso] channel = "http" and tell My DSO Manager\'s support',
    ),
}


def _mydso(exc: BaseException, company: CompanyRef) -> Explanation:
    from dsobridge.mydso import errors as md

    end = _mydso_end(company)
    text = str(exc)
    ftp = "FTP" in text
    if isinstance(exc, md.AccessDenied) or getattr(exc, "error_code", None) == "ACCESS_DENIED":
        return _mydso_auth(company, ftp=ftp)
    if isinstance(exc, md.ImportRejected):
        return _import_rejected(exc)
    if isinstance(exc, md.ImportTimeout):
        return Explanation(
            f"My DSO Manager did not finish the import in time: {text}",
            "the import may still complete; the next run sends the same rows again (item_unique_key makes a "
            'resend an update); if it keeps happening, raise [mydso] timeout or use channel = "async"',
            "import_timeout",
        )
    if isinstance(exc, md.TransportError):
        if ftp:
            return _ftp(exc)
        status = _HTTP_STATUS.search(text)
        if status and status.group(1) == "429":
            return _rate_limited(end, "the import")
        if status:
            return _server_error(end, int(status.group(1)), "the import")
        return _network(exc, end)
    if isinstance(exc, md.BadResponse):
        return _bad_response(exc, end)
    if isinstance(exc, md.RowError):
        return Explanation(
            f"a row could not be written as My DSO Manager requires: {text}",
            "check that debtor's data in Dynaccount (a required value missing or too long), or the [mapping] "
            "override that fills that column",
            "row_error",
        )
    return _unexpected(exc)


def _mydso_auth(company: CompanyRef, *, ftp: bool) -> Explanation:
    if ftp:
        return Explanation(
            "My DSO Manager's FTP drop refused the login (530)",
            "check the FTP login and password configured for My DSO Manager",
            "mydso_auth",
        )
    login = company.mydso_login
    return Explanation(
        f"My DSO Manager refused the login {login!r} (ACCESS_DENIED): the login or its password is wrong",
        f"check [mydso] login ({login}) and DSOBRIDGE_MYDSO_PASSWORD (or mydso_password in the secrets "
        "file); the login is the API login of the account, not a person's",
        "mydso_auth",
    )


def _import_rejected(exc: Any) -> Explanation:
    code = getattr(exc, "error_code", None) or "no error code"
    report = getattr(exc, "report", None)
    file_type = getattr(report, "file_type", None)
    message = getattr(report, "message", None)
    what, action = _IMPORT_CODES.get(
        code,
        (
            f"error code {code}",
            f"nothing of that file was imported; ask My DSO Manager's support what {code} means",
        ),
    )
    detail = f" ({message})" if message else ""
    the_file = f"the {file_type} file" if file_type else "a file"
    return Explanation(
        f"My DSO Manager refused {the_file} as {code}: {what}{detail}", action, "import_rejected"
    )


def _ftp(exc: BaseException) -> Explanation:
    match = _FTP_WHERE.search(str(exc))
    end = _FtpEnd("My DSO Manager's FTP drop", "ftp", match.group(1) if match else "")
    kind, _reason = _classify(exc)
    if kind != "network":
        return _network(exc, end)
    return Explanation(
        f"{exc}",
        "check that the FTP login may write to the drop's directory; the next run sends the file again",
        "ftp",
    )


# ------------------------------------------------------------------------------------------------- shared


class _FtpEnd(_End):
    """The FTP drop: its host and port are in the message (the config names them its own way)."""

    @property
    def where(self) -> str:
        return self.url or "its host"

    @property
    def address_setting(self) -> str:
        return f"the FTP settings for My DSO Manager ({self.where})"

    @property
    def timeout_setting(self) -> str:
        return "the FTP timeout"


def _rate_limited(end: _End, operation: str) -> Explanation:
    return Explanation(
        f"{end.name} refused {operation} with HTTP 429 (too many requests), also after waiting",
        "run the sync less often (fewer DELTA runs, a longer webhook --debounce) or at another hour; "
        "the next run tries again",
        "rate_limited",
    )


def _server_error(end: _End, status: int | None, operation: str) -> Explanation:
    code = f"HTTP {status}" if status else "a server error"
    return Explanation(
        f"{end.name} answered {code} to {operation}, also after the retries",
        f"a problem at {end.name}: nothing was changed and the next run tries again; if it lasts, check "
        f"{end.name}'s service status or tell its support the time of the failure",
        "server_error",
    )


def _bad_response(exc: BaseException, end: _End) -> Explanation:
    return Explanation(
        f"{end.name} answered something that is not its API's answer: {exc}",
        f"check that {end.address_setting} points at the API itself, not at a web page, a proxy or a "
        "login portal",
        "bad_response",
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then its causes and contexts (kept even by ``raise … from None``), each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


_DNS_TEXT = ("name or service not known", "nodename nor servname", "name resolution", "getaddrinfo failed")
_DROPPED = {"ReadError", "WriteError", "RemoteProtocolError", "ConnectionResetError", "BrokenPipeError"}


def _classify(exc: BaseException) -> tuple[str, str]:
    """``(variant, reason)`` of a transport failure, from the exceptions in its chain (types first, then
    their texts: a client may keep only the name of what it caught)."""
    chain = list(_chain(exc))
    texts = " | ".join(str(e) for e in chain)
    lowered = texts.lower()
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return "tls_certificate", str(e.verify_message or e.reason or "certificate verify failed")
    if "certificate" in lowered and "verif" in lowered:
        return "tls_certificate", "certificate verify failed"
    for e in chain:
        if isinstance(e, ssl.SSLError):
            return "tls_handshake", str(e.reason or e)
    if "ssl" in lowered and "handshake" in lowered:
        return "tls_handshake", "TLS handshake failed"
    if any(isinstance(e, socket.gaierror) for e in chain) or any(t in lowered for t in _DNS_TEXT):
        return "dns", "host name not found"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in lowered:
        return "refused", "connection refused"
    if any(isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH) for e in chain):
        return "unreachable", "network unreachable"
    names = {type(e).__name__ for e in chain} | set(re.findall(r"\b(\w+(?:Timeout|Error))\b", texts))
    if names & {"ConnectTimeout", "PoolTimeout"}:
        return "connect_timeout", "timed out"
    if any(n.endswith("Timeout") for n in names) or any(isinstance(e, TimeoutError) for e in chain):
        return "read_timeout", "timed out"
    if "timeout" in lowered or "timed out" in lowered:
        return "read_timeout", "timed out"
    if names & _DROPPED:
        return "dropped", "connection dropped"
    return "network", texts.split(" | ")[0]


def _network(exc: BaseException, end: _End) -> Explanation:
    variant, reason = _classify(exc)
    where, name, setting = end.where, end.name, end.address_setting
    if variant == "tls_certificate":
        return Explanation(
            f"the TLS certificate of {name} at {where} could not be verified: {reason}",
            f"check that {setting} names the service's own host (not an IP address or an alias); if a "
            "proxy on your network inspects TLS, add its CA certificate to this machine's trust store",
            "tls",
        )
    if variant == "tls_handshake":
        return Explanation(
            f"the TLS handshake with {name} at {where} failed: {reason}",
            f"check the scheme and port in {setting}: https only where the server speaks TLS",
            "tls",
        )
    if variant == "dns":
        host = where.rsplit(":", 1)[0]
        return Explanation(
            f"cannot find the host {host} of {name} (DNS lookup failed)",
            f"check the host name in {setting} and this machine's DNS (`getent hosts {host}`)",
            "dns",
        )
    if variant in ("refused", "unreachable"):
        return Explanation(
            f"cannot connect to {name} at {where}: {reason}",
            f"check the host and port in {setting}: nothing accepts connections there from this machine "
            "(or a firewall rejects them)",
            "connect",
        )
    if variant == "connect_timeout":
        return Explanation(
            f"{name} at {where} did not accept a connection in time",
            f"check that this machine may connect to {where} (firewall, proxy) and the host and port in "
            f"{setting}",
            "timeout",
        )
    if variant == "read_timeout":
        return Explanation(
            f"{name} at {where} did not answer in time",
            f"the service is slow or overloaded: the next run tries again; if it keeps happening, raise "
            f"{end.timeout_setting}",
            "timeout",
        )
    if variant == "dropped":
        return Explanation(
            f"{name} at {where} closed the connection in the middle of an answer",
            "usually passing: the next run tries again; if it repeats, check the proxies or load balancers "
            "between this machine and the service",
            "connection_lost",
        )
    return Explanation(
        f"cannot reach {name} at {where}: {reason}",
        f"check the network between this machine and {where}, and {setting}",
        "network",
    )
