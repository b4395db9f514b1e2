"""The configuration file's schema: one pydantic model per section, each refusing keys it does not know.

``DsobridgeSettings`` is the whole file (a pydantic-settings model: its ``model_config`` also names the
environment variables, ``DSOBRIDGE_<SECTION>__<KEY>``). The sections hold the values as written; paths and
derived defaults (``ftp_host``, ``ftp_login``, the state file) are resolved by ``load``.
"""

from __future__ import annotations

import codecs
import string
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from dsobridge.mydso.rows import COLUMNS
from dsobridge.sync.config.secrets import AlertUrls

ENV_PREFIX = "DSOBRIDGE_"
ENV_NESTED = "__"

ITEM_KINDS = ("INVOICE", "CREDITNOTE", "PAYMENT")
# My DSO Manager item types (spec mydso-import.md §3)
MYDSO_ITEM_TYPES = ("FAC", "AVO", "RGL", "ODI", "TRT", "DPA")
# My DSO Manager user roles (spec mydso-import.md §3, users file)
USER_ROLES = (
    "Administrator",
    "Credit manager",
    "Collector",
    "Sales manager",
    "Sales administration",
    "Financial controller",
    "Executive officer",
    "Guest",
    "Resolver",
)


class Section(BaseModel):
    """A table of the file: unknown keys are refused, values are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- value types --------------------------------------------------------------------------------------------
def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


def _codec(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError("is not a known encoding (e.g. UTF-8, ISO-8859-1)") from None
    return value


def _template(value: str) -> str:
    """A ``str.format`` template over a source row: named fields only (``{name}``, ``{number:06d}``)."""
    try:
        for _, field, _, conversion in string.Formatter().parse(value):
            if field is not None and (not field or field[0].isdigit()):
                raise ValueError("fields must be named, e.g. {name}")
            if conversion not in (None, "r", "s", "a"):
                raise ValueError("a conversion must be !r, !s or !a")
    except ValueError as exc:
        raise ValueError(f"is not a valid template ({exc})") from None
    return value


def _number_format(value: str) -> str:
    try:
        value.format(number=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f'is not a valid format of {{number}}, e.g. "C{{number:06d}}" ({exc})') from None
    return value


def _date_format(value: str) -> str:
    """Must write day, month and year: three dates differing in one of them each must come out different."""
    days = (date(2026, 1, 2), date(2026, 1, 3), date(2026, 2, 2), date(2027, 1, 2))
    written = [d.strftime(value) for d in days]
    if len(set(written)) != len(days):
        raise ValueError('must write the day, the month and the year, e.g. "%Y-%m-%d" or "%d/%m/%Y"')
    return value


def _names(value: Any) -> Any:
    """Debtor numbers may be written as numbers: ``[10042]`` is ``["10042"]``."""
    if isinstance(value, list | tuple):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


def _email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain) or any(c.isspace() for c in value):
        raise ValueError("must be an e-mail address")
    return value


def _url_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError('must start with "/"')
    return value


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Seconds = Annotated[float, Field(ge=0)]
PositiveSeconds = Annotated[float, Field(gt=0)]
Port = Annotated[int, Field(ge=1, le=65535)]
Text = Annotated[str, Field(min_length=1)]
Names = Annotated[tuple[str, ...], BeforeValidator(_names)]
Template = Annotated[str, AfterValidator(_template)]
NumberFormat = Annotated[str, AfterValidator(_number_format)]
DateFormat = Annotated[str, AfterValidator(_date_format)]
ItemType = Literal[MYDSO_ITEM_TYPES]  # type: ignore[valid-type]
ClientColumn = Literal[COLUMNS["clients"]]  # type: ignore[valid-type]
ContactColumn = Literal[COLUMNS["contacts"]]  # type: ignore[valid-type]
ItemColumn = Literal[COLUMNS["items"]]  # type: ignore[valid-type]


# --- sections -----------------------------------------------------------------------------------------------
class SecretsSection(Section):
    file: Text | None = None  # an owner-only TOML file with the secrets (optional)


class DynaccountSection(Section):
    api_id: int = Field(gt=0)
    base_url: HttpUrl = "https://api.dynaccount.com"
    version: Literal["v5", "v7"] = "v5"
    timeout: PositiveSeconds = 30.0
    page_size: int = Field(1000, ge=1, le=10000)
    retries: int = Field(5, ge=1, le=100)  # attempts per read request (1 = no retry)
    retry_timeout: Seconds = 60.0  # seconds spent retrying one request at most


class MyDsoSection(Section):
    login: Text
    base_url: HttpUrl = "https://account.mydsomanager.com"
    # ``channel`` is the deprecated name of ``delivery``
    delivery: Literal["http", "async", "ftp"] = Field(
        "http", validation_alias=AliasChoices("delivery", "channel")
    )
    timeout: PositiveSeconds = 120.0
    ftp_host: Text | None = None  # default: the host of base_url
    ftp_port: Port = 21
    ftp_tls: bool = True
    ftp_cafile: Text | None = None
    ftp_login: Text | None = None  # default: login
    report_timeout: PositiveSeconds = 600.0  # seconds to wait for an FTP / async import report

    @model_validator(mode="before")
    @classmethod
    def _one_name_for_delivery(cls, data: Any) -> Any:
        if isinstance(data, dict) and "delivery" in data and "channel" in data:
            raise ValueError("give delivery only: channel is its old name")
        return data


class SyncSection(Section):
    state: Text | None = None  # default: "<config file stem>-state.sqlite3" beside the config file
    max_drop: Decimal = Field(Decimal("0.30"), ge=0, le=1)
    history_months: int = Field(0, ge=0, le=1200)
    lock_timeout: Seconds = 600.0  # a nightly run waits for a webhook delta instead of giving up


class FiltersSection(Section):
    exclude_groups: Names = ()
    exclude_debtors: Names = ()
    exclude_zero_balance: bool = False


class FormatConfig(Section):
    """``[format]``: how the CSV files are written."""

    encoding: Annotated[str, AfterValidator(_codec)] = "UTF-8"
    decimal_style: Literal["point", "space_comma"] = "point"
    transliterate: bool = False
    neutralise_formulas: bool = False


class ItemTypes(Section):
    """``[mapping.item_types]``: Dynaccount posting kind → My DSO Manager ``item_type``."""

    INVOICE: ItemType = "FAC"
    CREDITNOTE: ItemType = "AVO"
    PAYMENT: ItemType = "RGL"

    @model_validator(mode="before")
    @classmethod
    def _kinds_in_capitals(cls, data: Any) -> Any:
        # environment variable names are case-insensitive: DSOBRIDGE_MAPPING__ITEM_TYPES__PAYMENT
        return {k.upper(): v for k, v in data.items()} if isinstance(data, dict) else data


class MappingSection(Section):
    client_code_format: NumberFormat = "{number}"
    item_number_format: NumberFormat = "{number}"
    date_format: DateFormat = "%Y-%m-%d"
    item_types: ItemTypes = ItemTypes()
    clients: dict[ClientColumn, Template] = Field(default_factory=dict)
    contacts: dict[ContactColumn, Template] = Field(default_factory=dict)
    items: dict[ItemColumn, Template] = Field(default_factory=dict)


class ContactsSection(Section):
    collection: Literal["statement", "attention", "first"] = "statement"
    statement_name: Text = "Bogholderi"


class UserMapping(Section):
    """``[[users]]``: one My DSO Manager user and the debtors (by group or number) of their portfolio."""

    email: Annotated[str, AfterValidator(_email)]
    firstname: str = ""
    lastname: str = ""
    role: Literal[USER_ROLES] = "Collector"  # type: ignore[valid-type]
    groups: Names = ()
    debtors: Names = ()


class WebhookConfig(Section):
    """``[webhook]``: the receiver of ``dsobridge webhook serve``."""

    host: Text = "127.0.0.1"
    port: int = Field(8088, ge=0, le=65535)
    path: Annotated[str, AfterValidator(_url_path)] = "/dynaccount-webhook/"
    public_url: HttpUrl | None = None  # the URL as configured in Dynaccount, when a proxy rewrites it
    debounce: Seconds = 2.0
    max_body: int = Field(1048576, ge=1024)  # bytes; larger bodies get 413 unread
    max_depth: int = Field(32, ge=1, le=1000)  # JSON nesting


class AlertsConfig(Section):
    """``[alerts]``: apprise URLs (held as secrets: they carry credentials) and what to alert on."""

    urls: AlertUrls = ()
    stale_after_hours: float = Field(26.0, gt=0)
    on_failed: bool = True
    on_refused: bool = True
    on_stale: bool = True


class LoggingConfig(Section):
    """``[logging]``."""

    level: Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(_lower)] = "info"
    format: Literal["text", "json"] = "text"


class DsobridgeSettings(BaseSettings):
    """The whole ``dsobridge.toml``. Every key can also come from ``DSOBRIDGE_<SECTION>__<KEY>``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED,
        case_sensitive=False,
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
    )

    secrets: SecretsSection = SecretsSection()
    dynaccount: DynaccountSection
    mydso: MyDsoSection
    sync: SyncSection = SyncSection()
    filters: FiltersSection = FiltersSection()
    format: FormatConfig = FormatConfig()
    mapping: MappingSection = MappingSection()
    contacts: ContactsSection = ContactsSection()
    users: tuple[UserMapping, ...] = ()
    webhook: WebhookConfig = WebhookConfig()
    alerts: AlertsConfig = AlertsConfig()
    logging: LoggingConfig = LoggingConfig()
