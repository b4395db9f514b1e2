"""The sync configuration: ``dsobridge.toml``, ``DSOBRIDGE_…`` environment variables, and the secrets.

    config = load_config("dsobridge.toml")           # file + environment (+ secrets file), strictly checked
    data = config.to_data()                           # plain JSON-able settings, no secret
    again = config_from_data(data, secrets={...}, state_path=...)   # same validation, no file

Unknown sections and keys, wrong types and out-of-range values raise ``ConfigError`` whose lines name the
file and line (or the environment variable) and the closest known name. Secrets come from the environment or
an owner-only secrets file, never from the config file, and are held as ``Secret``. See docs/configuration.md.
"""

from __future__ import annotations

from dsobridge.secret import Secret
from dsobridge.sync.config.environment import read_environment, setting_variables, variable
from dsobridge.sync.config.errors import ConfigError
from dsobridge.sync.config.load import DEFAULT_CONFIG_NAME, config_from_data, default_state_path, load_config
from dsobridge.sync.config.runtime import DynaccountConfig, MappingConfig, MyDsoConfig, SyncConfig
from dsobridge.sync.config.schema import (
    ENV_PREFIX,
    ITEM_KINDS,
    MYDSO_ITEM_TYPES,
    USER_ROLES,
    AlertsConfig,
    DsobridgeSettings,
    FormatConfig,
    LoggingConfig,
    UserMapping,
    WebhookConfig,
)
from dsobridge.sync.config.secrets import (
    ENV_SECRETS_FILE,
    SECRET_ENV,
    AlertUrl,
    read_secrets_file,
)
from dsobridge.sync.config.template import CONFIG_TEMPLATE, render_template

FILE_KINDS = ("clients", "contacts", "users", "items")
ENV_API_KEY = SECRET_ENV["dynaccount_api_key"]
ENV_API_SECRET = SECRET_ENV["dynaccount_api_secret"]
ENV_MYDSO_PASSWORD = SECRET_ENV["mydso_password"]

__all__ = [
    "CONFIG_TEMPLATE",
    "DEFAULT_CONFIG_NAME",
    "ENV_API_KEY",
    "ENV_API_SECRET",
    "ENV_MYDSO_PASSWORD",
    "ENV_PREFIX",
    "ENV_SECRETS_FILE",
    "FILE_KINDS",
    "ITEM_KINDS",
    "MYDSO_ITEM_TYPES",
    "SECRET_ENV",
    "USER_ROLES",
    "AlertUrl",
    "AlertsConfig",
    "ConfigError",
    "DsobridgeSettings",
    "DynaccountConfig",
    "FormatConfig",
    "LoggingConfig",
    "MappingConfig",
    "MyDsoConfig",
    "Secret",
    "SyncConfig",
    "UserMapping",
    "WebhookConfig",
    "config_from_data",
    "default_state_path",
    "load_config",
    "read_environment",
    "read_secrets_file",
    "render_template",
    "setting_variables",
    "variable",
]
