"""The configuration the rest of dsobridge uses: resolved, with its secrets, shaped for the code reading it.

``SyncConfig`` is built by ``load_config`` / ``config_from_data`` from the validated file
(``DsobridgeSettings``): paths made absolute, derived defaults filled in, ``[mapping]``, ``[filters]`` and
``[contacts]`` gathered into one ``MappingConfig`` for ``dsobridge.sync.mapping.Mapper``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from dsobridge.secret import Secret
from dsobridge.sync.config.schema import (
    AlertsConfig,
    ContactsSection,
    DsobridgeSettings,
    FiltersSection,
    FormatConfig,
    LoggingConfig,
    MappingSection,
    UserMapping,
    WebhookConfig,
)

_MAPPING, _FILTERS, _CONTACTS = MappingSection(), FiltersSection(), ContactsSection()


@dataclass(frozen=True)
class DynaccountConfig:
    """``[dynaccount]`` with the API key and secret."""

    api_id: int
    api_key: Secret
    api_secret: Secret
    version: str
    base_url: str
    timeout: float
    page_size: int
    retries: int  # attempts per read request (1 = no retry)
    retry_timeout: float  # seconds spent retrying one request at most


@dataclass(frozen=True)
class MyDsoConfig:
    """``[mydso]`` with the passwords; ``ftp_host`` and ``ftp_login`` resolved to their defaults."""

    login: str
    password: Secret
    base_url: str
    timeout: float
    delivery: str  # "http" (synchronous /api/), "async" (/apiPutFiles/) or "ftp" (the file drop)
    ftp_host: str
    ftp_port: int
    ftp_tls: bool
    ftp_cafile: Path | None
    ftp_login: str
    ftp_password: Secret
    report_timeout: float  # seconds to wait for an FTP / async import report

    @property
    def channel(self) -> str:
        """The deprecated name of ``delivery``."""
        return self.delivery


@dataclass(frozen=True)
class MappingConfig:
    """What ``Mapper`` needs: ``[mapping]``, ``[filters]`` and ``[contacts]`` of the file."""

    item_types: dict[str, str] = field(default_factory=lambda: _MAPPING.item_types.model_dump())
    client_fields: dict[str, str] = field(default_factory=dict)
    contact_fields: dict[str, str] = field(default_factory=dict)
    item_fields: dict[str, str] = field(default_factory=dict)
    client_code_format: str = _MAPPING.client_code_format
    item_number_format: str = _MAPPING.item_number_format
    date_format: str = _MAPPING.date_format
    exclude_groups: tuple[str, ...] = _FILTERS.exclude_groups
    exclude_debtors: tuple[str, ...] = _FILTERS.exclude_debtors
    exclude_zero_balance: bool = _FILTERS.exclude_zero_balance
    collection_contact: str = _CONTACTS.collection  # statement | attention | first
    statement_contact_name: str = _CONTACTS.statement_name

    @classmethod
    def from_settings(cls, settings: DsobridgeSettings) -> MappingConfig:
        mapping, filters = settings.mapping, settings.filters
        return cls(
            item_types=mapping.item_types.model_dump(),
            client_fields=dict(mapping.clients),
            contact_fields=dict(mapping.contacts),
            item_fields=dict(mapping.items),
            client_code_format=mapping.client_code_format,
            item_number_format=mapping.item_number_format,
            date_format=mapping.date_format,
            exclude_groups=filters.exclude_groups,
            exclude_debtors=filters.exclude_debtors,
            exclude_zero_balance=filters.exclude_zero_balance,
            collection_contact=settings.contacts.collection,
            statement_contact_name=settings.contacts.statement_name,
        )


@dataclass(frozen=True)
class SyncConfig:
    """One configuration, ready to run. ``source``: the config file, or the label given to
    ``config_from_data``. ``settings``: the validated settings it was built from (paths resolved)."""

    dynaccount: DynaccountConfig
    mydso: MyDsoConfig
    state_path: Path
    mapping: MappingConfig
    format: FormatConfig
    users: tuple[UserMapping, ...]
    max_drop: Decimal
    history_months: int
    lock_timeout: float
    webhook: WebhookConfig
    alerts: AlertsConfig
    logging: LoggingConfig
    source: Path | str | None = None
    settings: DsobridgeSettings | None = field(default=None, repr=False, compare=False)

    def to_data(self) -> dict[str, Any]:
        """The settings as plain JSON-able data, without any secret (nor the alert URLs, nor ``[secrets]``):
        ``config_from_data(config.to_data(), secrets=…)`` gives this configuration back."""
        if self.settings is None:
            raise ValueError("this SyncConfig was not built from settings")
        return self.settings.model_dump(mode="json", exclude={"secrets": True, "alerts": {"urls"}})
