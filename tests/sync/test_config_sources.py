"""Where settings come from besides the file: ``DSOBRIDGE_<SECTION>__<KEY>`` variables (over the file, as
strictly checked), and plain data (``to_data`` / ``config_from_data``, a configuration without a file)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from dsobridge.sync.config import (
    ConfigError,
    Secret,
    config_from_data,
    load_config,
    setting_variables,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
SECRETS = {
    "dynaccount_api_key": "K" * 40,
    "dynaccount_api_secret": "S" * 40,
    "mydso_password": "pw-0451",
}
ENV = {
    "DSOBRIDGE_DYNACCOUNT_API_KEY": SECRETS["dynaccount_api_key"],
    "DSOBRIDGE_DYNACCOUNT_API_SECRET": SECRETS["dynaccount_api_secret"],
    "DSOBRIDGE_MYDSO_PASSWORD": SECRETS["mydso_password"],
}
FILE = '[dynaccount]\napi_id = 1234\n\n[mydso]\nlogin = "acme"\n\n[sync]\nmax_drop = 0.30\n'

# one valid value for every setting, other than its default: (as written in the variable, as it is then held)
SAMPLES: dict[str, tuple[str, object]] = {
    "secrets.file": ("s.toml", "s.toml"),
    "dynaccount.api_id": ("592912", 592912),
    "dynaccount.base_url": ("http://127.0.0.1:8081/", "http://127.0.0.1:8081"),
    "dynaccount.version": ("v7", "v7"),
    "dynaccount.timeout": ("12.5", 12.5),
    "dynaccount.page_size": ("250", 250),
    "dynaccount.retries": ("2", 2),
    "dynaccount.retry_timeout": ("5", 5.0),
    "mydso.login": ("other", "other"),
    "mydso.base_url": ("https://dso.example.com", "https://dso.example.com"),
    "mydso.delivery": ("ftp", "ftp"),
    "mydso.timeout": ("30", 30.0),
    "mydso.ftp_host": ("ftp.example.com", "ftp.example.com"),
    "mydso.ftp_port": ("2121", 2121),
    "mydso.ftp_tls": ("false", False),
    "mydso.ftp_cafile": ("ca.pem", "ca.pem"),
    "mydso.ftp_login": ("ftp-user", "ftp-user"),
    "mydso.report_timeout": ("60", 60.0),
    "sync.state": ("/var/lib/dsobridge/acme.sqlite3", "/var/lib/dsobridge/acme.sqlite3"),
    "sync.max_drop": ("0.10", Decimal("0.10")),
    "sync.history_months": ("6", 6),
    "sync.lock_timeout": ("90", 90.0),
    "filters.exclude_groups": ('["Koncern", "Intern"]', ("Koncern", "Intern")),
    "filters.exclude_debtors": ("[10042]", ("10042",)),
    "filters.exclude_zero_balance": ("true", True),
    "format.encoding": ("ISO-8859-1", "ISO-8859-1"),
    "format.decimal_style": ("space_comma", "space_comma"),
    "format.transliterate": ("1", True),
    "format.neutralise_formulas": ("yes", True),
    "mapping.client_code_format": ("C{number:06d}", "C{number:06d}"),
    "mapping.item_number_format": ("{number:08d}", "{number:08d}"),
    "mapping.date_format": ("%d/%m/%Y", "%d/%m/%Y"),
    "mapping.item_types.INVOICE": ("ODI", "ODI"),
    "mapping.item_types.CREDITNOTE": ("ODI", "ODI"),
    "mapping.item_types.PAYMENT": ("ODI", "ODI"),
    "mapping.clients": ('{"client_field_perso2": "{ean}"}', {"client_field_perso2": "{ean}"}),
    "mapping.contacts": ('{"contact_function": "{position}"}', {"contact_function": "{position}"}),
    "mapping.items": ('{"item_field_perso1": "{txt}"}', {"item_field_perso1": "{txt}"}),
    "contacts.collection": ("attention", "attention"),
    "contacts.statement_name": ("Regnskab", "Regnskab"),
    "users": ('[{"email": "anne@firma.dk", "groups": ["Indland"]}]', "anne@firma.dk"),
    "webhook.host": ("0.0.0.0", "0.0.0.0"),
    "webhook.port": ("9000", 9000),
    "webhook.path": ("/hook", "/hook"),
    "webhook.public_url": ("https://x.example/hook", "https://x.example/hook"),
    "webhook.debounce": ("0.5", 0.5),
    "webhook.max_body": ("65536", 65536),
    "webhook.max_depth": ("8", 8),
    "alerts.urls": ("json://a.example/x mailto://b.example", 2),
    "alerts.stale_after_hours": ("48", 48.0),
    "alerts.on_failed": ("false", False),
    "alerts.on_refused": ("false", False),
    "alerts.on_stale": ("false", False),
    "logging.level": ("WARNING", "warning"),
    "logging.format": ("json", "json"),
}


def held(config, setting: str) -> object:
    """The value of a setting as the loaded configuration holds it (the settings before path resolution)."""
    if setting == "users":
        return config.users[0].email
    if setting == "alerts.urls":
        return len(config.alerts.urls)
    if setting == "sync.state":
        return str(config.state_path)
    if setting == "mydso.ftp_cafile":
        return config.mydso.ftp_cafile.name
    value = config.settings
    for part in setting.split("."):
        value = getattr(value, part)
    return value


def test_the_samples_cover_every_setting():
    assert set(SAMPLES) == set(setting_variables())


@pytest.mark.parametrize("setting", sorted(SAMPLES))
def test_every_setting_comes_from_its_environment_variable_over_the_file(tmp_path, setting):
    path = tmp_path / "dsobridge.toml"
    path.write_text(FILE, encoding="utf-8")
    (tmp_path / "ca.pem").write_text("cert")
    (tmp_path / "s.toml").write_text("")
    (tmp_path / "s.toml").chmod(0o600)
    variable = setting_variables()[setting]
    written, expected = SAMPLES[setting]
    config = load_config(path, env={**ENV, variable: written})
    assert held(config, setting) == expected


def test_the_documentation_names_every_variable():
    docs = DOCS.read_text(encoding="utf-8")
    missing = [v for v in setting_variables().values() if f"`{v}`" not in docs]
    assert missing == []
    for name in (*ENV, "DSOBRIDGE_MYDSO_FTP_PASSWORD", "DSOBRIDGE_ALERT_URLS", "DSOBRIDGE_SECRETS_FILE"):
        assert f"`{name}`" in docs


def test_a_table_as_json_and_single_keys_over_it(tmp_path):
    path = tmp_path / "dsobridge.toml"
    path.write_text(FILE + "history_months = 2\n", encoding="utf-8")
    env = {
        **ENV,
        "DSOBRIDGE_SYNC": '{"max_drop": 0.2, "lock_timeout": 5}',
        "DSOBRIDGE_SYNC__MAX_DROP": "0.25",
        "DSOBRIDGE_MAPPING__CLIENTS__CLIENT_PHONE": "",  # empty: as if unset
        "DSOBRIDGE_MAPPING__CLIENTS__CLIENT_COMMENTS": "{note}",
        "DSOBRIDGE_MAPPING__ITEM_TYPES__PAYMENT": "ODI",
    }
    config = load_config(path, env=env)
    assert (config.max_drop, config.lock_timeout, config.history_months) == (Decimal("0.25"), 5.0, 2)
    assert config.mapping.client_fields == {"client_comments": "{note}"}
    assert config.mapping.item_types["PAYMENT"] == "ODI" and config.mapping.item_types["INVOICE"] == "FAC"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        (
            "DSOBRIDGE_SYNC__MAX_DORP",
            "0.10",
            "$DSOBRIDGE_SYNC__MAX_DORP: [sync] unknown setting 'max_dorp'"
            " — did you mean $DSOBRIDGE_SYNC__MAX_DROP?",
        ),
        (
            "DSOBRIDGE_FILTER__EXCLUDE_GROUPS",
            '["Koncern"]',
            "$DSOBRIDGE_FILTER__EXCLUDE_GROUPS: unknown section [filter]"
            " — did you mean $DSOBRIDGE_FILTERS__…?",
        ),
        (
            "DSOBRIDGE_FILTERS__EXCLUDE_GROUPS",
            "Koncern",
            "$DSOBRIDGE_FILTERS__EXCLUDE_GROUPS: not valid JSON (lists and tables are written as JSON, e.g. "
            '["Koncern", "Intern"])',
        ),
        (
            "DSOBRIDGE_SYNC__MAX_DROP",
            "1.5",
            "$DSOBRIDGE_SYNC__MAX_DROP: [sync] max_drop must be a number between 0 and 1",
        ),
        (
            "DSOBRIDGE_WEBHOOK__PORT",
            "http",
            "$DSOBRIDGE_WEBHOOK__PORT: [webhook] port must be a whole number between 0 and 65535",
        ),
        (
            "DSOBRIDGE_ALERTS__URLS",
            '["json://x"]',
            "$DSOBRIDGE_ALERTS__URLS: set $DSOBRIDGE_ALERT_URLS instead",
        ),
        (
            "DSOBRIDGE_MYDSO__PASSWORD",
            "pw",
            "$DSOBRIDGE_MYDSO__PASSWORD: [mydso] password does not belong in the config file",
        ),
    ],
)
def test_a_wrong_variable_is_refused_and_named(tmp_path, variable, value, problem):
    path = tmp_path / "dsobridge.toml"
    path.write_text(FILE, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={**ENV, variable: value})
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(problem), (
        caught.value.problems
    )


def test_other_dsobridge_variables_are_left_alone(tmp_path):
    path = tmp_path / "dsobridge.toml"
    path.write_text(FILE, encoding="utf-8")
    env = {
        **ENV,
        "DSOBRIDGE_CONFIG": str(path),
        "DSOBRIDGE_DEMO_PASSWORD": "x",
        "DSOBRIDGE_SANDBOX_API_KEY": "y",
    }
    assert load_config(path, env=env).dynaccount.api_id == 1234


# --- without a file -----------------------------------------------------------------------------------------
def test_to_data_and_back_gives_the_same_configuration(tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text(
        FILE
        + '[filters]\nexclude_groups = ["Koncern"]\n[mapping.clients]\nclient_field_perso2 = "{ean}"\n'
        + '[[users]]\nemail = "anne@firma.dk"\ndebtors = [10001]\n[alerts]\nurls = ["json://a.example/x"]\n',
        encoding="utf-8",
    )
    env = {**ENV, "DSOBRIDGE_MYDSO__DELIVERY": "async", "DSOBRIDGE_MYDSO_FTP_PASSWORD": "ftp-0451"}
    config = load_config(path, env=env)
    data = config.to_data()
    text = json.dumps(data)  # plain JSON-able
    for secret in (*SECRETS.values(), "ftp-0451", "json://a.example/x"):
        assert secret not in text
    assert "secrets" not in data and "urls" not in data["alerts"]
    assert data["sync"]["state"] == str(tmp_path / "acme-state.sqlite3")
    secrets = {**SECRETS, "mydso_ftp_password": "ftp-0451", "alert_urls": "json://a.example/x"}
    again = config_from_data(json.loads(text), secrets=secrets, source="tenant acme")
    assert again.to_data() == data
    for name in ("dynaccount", "mydso", "state_path", "mapping", "format", "users", "max_drop", "webhook"):
        assert getattr(again, name) == getattr(config, name), name
    assert again.alerts == config.alerts and again.logging == config.logging
    assert again.source == "tenant acme" and again.mydso.ftp_password == Secret("ftp-0451")
    moved = config_from_data(data, secrets=SECRETS, state_path=tmp_path / "elsewhere.sqlite3")
    assert moved.state_path == tmp_path / "elsewhere.sqlite3" and moved.alerts.urls == ()


def test_data_is_validated_like_a_file(tmp_path):
    data = {"dynaccount": {"api_id": 1}, "mydso": {"login": "acme"}, "sync": {"max_dorp": 0.1}}
    with pytest.raises(ConfigError) as caught:
        config_from_data(data, secrets={**SECRETS, "mydso_pasword": "x"}, state_path=tmp_path / "s.sqlite3")
    assert caught.value.problems == [
        "<tenant>: [sync] unknown setting 'max_dorp' — did you mean 'max_drop'?",
        "<tenant> secrets: unknown secret 'mydso_pasword' — did you mean 'mydso_password'?",
    ]
    data = {"dynaccount": {"api_id": 1}, "mydso": {"login": "acme"}, "secrets": {"file": "s.toml"}}
    with pytest.raises(ConfigError) as caught:
        config_from_data(data, secrets={"mydso_password": "pw"}, source="t1")
    assert caught.value.problems == [
        "t1: [secrets] is for config files; pass the secrets as `secrets`",
        "t1: secret 'dynaccount_api_key' is missing: give it in the secrets (as dynaccount_api_key)",
        "t1: secret 'dynaccount_api_secret' is missing: give it in the secrets (as dynaccount_api_secret)",
        "t1: [sync] state is required without a config file (or pass state_path)",
    ]
