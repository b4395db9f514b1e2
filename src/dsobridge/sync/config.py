"""The sync configuration: a TOML file (``dsobridge.toml``) plus secrets from the environment or a file
readable only by its owner. Secrets never come from the command line and never appear in a repr.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from dsobridge.secret import Secret

DEFAULT_CONFIG_NAME = "dsobridge.toml"

ENV_API_KEY = "DSOBRIDGE_DYNACCOUNT_API_KEY"
ENV_API_SECRET = "DSOBRIDGE_DYNACCOUNT_API_SECRET"  # noqa: S105 - the name of a variable, not a secret
ENV_MYDSO_PASSWORD = "DSOBRIDGE_MYDSO_PASSWORD"  # noqa: S105 - idem
ENV_SECRETS_FILE = "DSOBRIDGE_SECRETS_FILE"

ITEM_KINDS = ("INVOICE", "CREDITNOTE", "PAYMENT")
FILE_KINDS = ("clients", "contacts", "users", "items")


class ConfigError(Exception):
    """The configuration is missing, malformed or unsafe (exit code 2)."""


@dataclass(frozen=True)
class DynaccountConfig:
    api_id: int
    api_key: Secret
    api_secret: Secret
    version: str = "v5"
    base_url: str = "https://api.dynaccount.com"
    timeout: float = 30.0
    page_size: int = 1000
    retries: int = 5  # attempts per read request (1 = no retry)
    retry_timeout: float = 60.0  # seconds spent retrying one request at most


@dataclass(frozen=True)
class MyDsoConfig:
    login: str
    password: Secret
    base_url: str = "https://account.mydsomanager.com"
    timeout: float = 120.0
    channel: str = "http"  # "http" (synchronous import) or "async" (/apiPutFiles/)


@dataclass(frozen=True)
class UserMapping:
    """One My DSO Manager user and the debtors (by group or number) of their portfolio."""

    email: str
    firstname: str = ""
    lastname: str = ""
    role: str = "Collector"
    groups: tuple[str, ...] = ()
    debtors: tuple[str, ...] = ()


@dataclass(frozen=True)
class MappingConfig:
    item_types: dict[str, str] = field(
        default_factory=lambda: {"INVOICE": "FAC", "CREDITNOTE": "AVO", "PAYMENT": "RGL"}
    )
    client_fields: dict[str, str] = field(default_factory=dict)
    contact_fields: dict[str, str] = field(default_factory=dict)
    item_fields: dict[str, str] = field(default_factory=dict)
    client_code_format: str = "{number}"
    item_number_format: str = "{number}"
    date_format: str = "%Y-%m-%d"
    exclude_groups: tuple[str, ...] = ()
    exclude_debtors: tuple[str, ...] = ()
    exclude_zero_balance: bool = False
    collection_contact: str = "statement"  # statement | attention | first
    statement_contact_name: str = "Bogholderi"


@dataclass(frozen=True)
class FormatConfig:
    encoding: str = "UTF-8"
    decimal_style: str = "point"
    transliterate: bool = False
    neutralise_formulas: bool = False


@dataclass(frozen=True)
class SyncConfig:
    dynaccount: DynaccountConfig
    mydso: MyDsoConfig
    state_path: Path
    mapping: MappingConfig = field(default_factory=MappingConfig)
    format: FormatConfig = field(default_factory=FormatConfig)
    users: tuple[UserMapping, ...] = ()
    max_drop: Decimal = Decimal("0.30")
    history_months: int = 0
    lock_timeout: float = 0.0
    source: Path | None = None


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _str_map(data: dict[str, Any], where: str) -> dict[str, str]:
    if not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(f"[{where}]: every value must be a string")
    return dict(data)


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be a list")
    return tuple(str(v) for v in value)


def _check_private(path: Path) -> None:
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigError(f"secrets file {path} is not owned by the current user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigError(f"secrets file {path} must be readable by its owner only (chmod 600 {path})")


def read_secrets_file(path: Path) -> dict[str, str]:
    """``dynaccount_api_key``, ``dynaccount_api_secret``, ``mydso_password`` from an owner-only TOML file."""
    if not path.exists():
        raise ConfigError(f"secrets file {path} does not exist")
    _check_private(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"secrets file {path} is not valid TOML ({type(exc).__name__})") from None
    return {k: str(v) for k, v in data.items() if isinstance(v, str | int)}


def _secret(name: str, env_name: str, env: dict[str, str], file_values: dict[str, str]) -> Secret:
    value = env.get(env_name) or file_values.get(name)
    if not value:
        raise ConfigError(f"secret {name!r} is missing: set ${env_name} or put it in the secrets file")
    return Secret(value)


def load_config(path: str | Path | None = None, *, env: dict[str, str] | None = None) -> SyncConfig:
    """Read and validate the config file; raise ``ConfigError`` with the exact problem."""
    env = dict(os.environ if env is None else env)
    path = Path(path or DEFAULT_CONFIG_NAME)
    if not path.exists():
        raise ConfigError(f"config file {path} not found (create one with `dsobridge init`)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    base = path.resolve().parent

    secrets_table = _table(data, "secrets")
    secrets_file = env.get(ENV_SECRETS_FILE) or secrets_table.get("file")
    file_values: dict[str, str] = {}
    if secrets_file:
        secrets_path = Path(os.path.expanduser(str(secrets_file)))
        if not secrets_path.is_absolute():
            secrets_path = base / secrets_path
        file_values = read_secrets_file(secrets_path)

    dyn = _table(data, "dynaccount")
    if "api_key" in dyn or "api_secret" in dyn:
        raise ConfigError(
            "[dynaccount]: api_key/api_secret do not belong in the config file; use the secrets"
        )
    try:
        api_id = int(dyn["api_id"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError("[dynaccount] api_id (an integer) is required") from None
    version = str(dyn.get("version", "v5"))
    if version not in ("v5", "v7"):
        raise ConfigError(f"[dynaccount] version must be 'v5' or 'v7', not {version!r}")
    page_size = int(dyn.get("page_size", 1000))
    if not 1 <= page_size <= 10000:
        raise ConfigError("[dynaccount] page_size must be between 1 and 10000")
    dynaccount = DynaccountConfig(
        api_id=api_id,
        api_key=_secret("dynaccount_api_key", ENV_API_KEY, env, file_values),
        api_secret=_secret("dynaccount_api_secret", ENV_API_SECRET, env, file_values),
        version=version,
        base_url=str(dyn.get("base_url", "https://api.dynaccount.com")).rstrip("/"),
        timeout=float(dyn.get("timeout", 30.0)),
        page_size=page_size,
        retries=max(1, int(dyn.get("retries", 5))),
        retry_timeout=float(dyn.get("retry_timeout", 60.0)),
    )

    md = _table(data, "mydso")
    if "password" in md:
        raise ConfigError("[mydso]: password does not belong in the config file; use the secrets")
    if not md.get("login"):
        raise ConfigError("[mydso] login is required")
    channel = str(md.get("channel", "http"))
    if channel not in ("http", "async"):
        raise ConfigError(f"[mydso] channel must be 'http' or 'async', not {channel!r}")
    mydso = MyDsoConfig(
        login=str(md["login"]),
        password=_secret("mydso_password", ENV_MYDSO_PASSWORD, env, file_values),
        base_url=str(md.get("base_url", "https://account.mydsomanager.com")).rstrip("/"),
        timeout=float(md.get("timeout", 120.0)),
        channel=channel,
    )

    sync = _table(data, "sync")
    state_path = Path(os.path.expanduser(str(sync.get("state", "dsobridge-state.sqlite3"))))
    if not state_path.is_absolute():
        state_path = base / state_path
    try:
        max_drop = Decimal(str(sync.get("max_drop", "0.30")))
    except InvalidOperation:
        raise ConfigError("[sync] max_drop must be a number between 0 and 1") from None
    if not Decimal(0) <= max_drop <= Decimal(1):
        raise ConfigError("[sync] max_drop must be a number between 0 and 1")
    history = int(sync.get("history_months", 0))
    if history < 0:
        raise ConfigError("[sync] history_months must be >= 0")

    mapping_table = _table(data, "mapping")
    filters = _table(data, "filters")
    item_types = {
        **MappingConfig().item_types,
        **_str_map(_table(mapping_table, "item_types"), "mapping.item_types"),
    }
    unknown = set(item_types) - set(ITEM_KINDS)
    if unknown:
        raise ConfigError(
            f"[mapping.item_types]: unknown source kinds {sorted(unknown)}; use {list(ITEM_KINDS)}"
        )
    collection = str(_table(data, "contacts").get("collection", "statement"))
    if collection not in ("statement", "attention", "first"):
        raise ConfigError("[contacts] collection must be 'statement', 'attention' or 'first'")
    mapping = MappingConfig(
        item_types=item_types,
        client_fields=_str_map(_table(mapping_table, "clients"), "mapping.clients"),
        contact_fields=_str_map(_table(mapping_table, "contacts"), "mapping.contacts"),
        item_fields=_str_map(_table(mapping_table, "items"), "mapping.items"),
        client_code_format=str(mapping_table.get("client_code_format", "{number}")),
        item_number_format=str(mapping_table.get("item_number_format", "{number}")),
        date_format=str(mapping_table.get("date_format", "%Y-%m-%d")),
        exclude_groups=_strs(filters.get("exclude_groups"), "[filters] exclude_groups"),
        exclude_debtors=_strs(filters.get("exclude_debtors"), "[filters] exclude_debtors"),
        exclude_zero_balance=bool(filters.get("exclude_zero_balance", False)),
        collection_contact=collection,
        statement_contact_name=str(_table(data, "contacts").get("statement_name", "Bogholderi")),
    )
    for name, template in (
        ("client_code_format", mapping.client_code_format),
        ("item_number_format", mapping.item_number_format),
    ):
        try:
            template.format(number=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"[mapping] {name} {template!r} is not a valid format ({exc})") from None

    fmt_table = _table(data, "format")
    fmt = FormatConfig(
        encoding=str(fmt_table.get("encoding", "UTF-8")),
        decimal_style=str(fmt_table.get("decimal_style", "point")),
        transliterate=bool(fmt_table.get("transliterate", False)),
        neutralise_formulas=bool(fmt_table.get("neutralise_formulas", False)),
    )
    try:
        "".encode(fmt.encoding)
    except LookupError:
        raise ConfigError(f"[format] encoding {fmt.encoding!r} is not a known codec") from None

    users_list = data.get("users", [])
    if not isinstance(users_list, list):
        raise ConfigError("[[users]] must be an array of tables")
    users = []
    for i, u in enumerate(users_list):
        if not isinstance(u, dict) or not u.get("email"):
            raise ConfigError(f"[[users]] #{i + 1}: email is required")
        users.append(
            UserMapping(
                email=str(u["email"]),
                firstname=str(u.get("firstname", "")),
                lastname=str(u.get("lastname", "")),
                role=str(u.get("role", "Collector")),
                groups=_strs(u.get("groups"), f"[[users]] #{i + 1} groups"),
                debtors=_strs(u.get("debtors"), f"[[users]] #{i + 1} debtors"),
            )
        )

    return SyncConfig(
        dynaccount=dynaccount,
        mydso=mydso,
        state_path=state_path,
        mapping=mapping,
        format=fmt,
        users=tuple(users),
        max_drop=max_drop,
        history_months=history,
        lock_timeout=float(sync.get("lock_timeout", 0.0)),
        source=path,
    )


CONFIG_TEMPLATE = """\
# dsobridge.toml — Dynaccount → My DSO Manager. Written by `dsobridge init`; see docs/configuration.md.
# Secrets are NOT kept here. Provide them as environment variables
#   DSOBRIDGE_DYNACCOUNT_API_KEY, DSOBRIDGE_DYNACCOUNT_API_SECRET, DSOBRIDGE_MYDSO_PASSWORD
# or in the secrets file named below (TOML, keys dynaccount_api_key, dynaccount_api_secret, mydso_password),
# which must be readable by its owner only (chmod 600).

[secrets]
file = "{secrets_file}"

[dynaccount]
api_id = {api_id}                            # Administration > Virksomheder
base_url = "{dynaccount_url}"
version = "v5"                              # v5 (signed POST bodies) or v7 (X-Hash header)
timeout = 30                                # seconds per request
page_size = 1000                            # rows per page (limit=offset,count)
retries = 5                                 # attempts per read (429/5xx/network), with backoff
retry_timeout = 60                          # seconds of retrying per request at most

[mydso]
base_url = "{mydso_url}"
login = "{mydso_login}"                     # the API login of the PRO account
channel = "http"                            # http = synchronous /api/, async = /apiPutFiles/
timeout = 120

[sync]
state = "dsobridge-state.sqlite3"           # SQLite state store (runs, delivered rows, reports, lock)
max_drop = 0.30                             # refuse a STOCK items file if open items drop by more
history_months = 0                          # default for `sync --history`; 0 = none

[filters]
exclude_groups = []                         # debtor groups never sent, e.g. ["Koncern"] (intercompany)
exclude_debtors = []                        # debtor numbers never sent, e.g. ["10001"]
exclude_zero_balance = false                # leave out clients with balance 0 and no open item

[format]
encoding = "UTF-8"                          # or "ISO-8859-1"
decimal_style = "point"                     # "point" = 6580.10, "space_comma" = 6 580,10
transliterate = false                       # replace characters the encoding cannot hold instead of failing
neutralise_formulas = false                 # prefix cells starting with = + - @ (spreadsheet safety)

[mapping]
client_code_format = "{{number}}"             # e.g. "C{{number:06d}}"
item_number_format = "{{number}}"             # e.g. "{{number:08d}}"
date_format = "%Y-%m-%d"                    # dates written in the files

[mapping.item_types]                        # Dynaccount posting kind → My DSO Manager item_type
INVOICE = "FAC"
CREDITNOTE = "AVO"
PAYMENT = "RGL"

[mapping.clients]                           # column = "{{debtor field}}" template; "" blanks a column
# client_field_perso2 = "{{ean}}"

[mapping.items]
# item_field_perso1 = "{{txt}}"

[contacts]
collection = "statement"                    # collection contact: statement e-mail, attention person, or first
statement_name = "Bogholderi"               # last name given to the statement e-mail contact

# One table per My DSO Manager user; portfolio by debtor group and/or debtor number.
# [[users]]
# email = "anne@example.dk"
# firstname = "Anne"
# lastname = "Holm"
# role = "Collector"
# groups = ["Indland"]
# debtors = ["10001"]
"""


def render_template(
    *,
    api_id: int = 0,
    dynaccount_url: str = "https://api.dynaccount.com",
    mydso_url: str = "https://account.mydsomanager.com",
    mydso_login: str = "",
    secrets_file: str = "~/.config/dsobridge/secrets.toml",
) -> str:
    """The commented config file ``dsobridge init`` writes."""
    return CONFIG_TEMPLATE.format(
        api_id=api_id,
        dynaccount_url=dynaccount_url,
        mydso_url=mydso_url,
        mydso_login=mydso_login,
        secrets_file=secrets_file,
    )
