"""The config file: strict (typos, unknown sections, wrong types and ranges refused with file, line and
the closest name), secrets kept out of it and out of every message, derived defaults, template and docs."""

from __future__ import annotations

import os
import re
import textwrap
import traceback
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from dsobridge.cli import cli
from dsobridge.sync.config import (
    AlertUrl,
    ConfigError,
    Secret,
    default_state_path,
    load_config,
    render_template,
)
from dsobridge.sync.config.locate import KeyLines

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ENV = {
    "DSOBRIDGE_DYNACCOUNT_API_KEY": "k" * 40,
    "DSOBRIDGE_DYNACCOUNT_API_SECRET": "s" * 40,
    "DSOBRIDGE_MYDSO_PASSWORD": "hunter2-0451",
}
MINIMAL = """\
[dynaccount]
api_id = 1234

[mydso]
login = "acme"
"""


def write(folder: Path, text: str, name: str = "dsobridge.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV if env is None else env)
    return caught.value.problems


# --- the three typos reported -------------------------------------------------------------------------------
def test_a_misspelt_setting_is_refused_with_its_line_and_the_closest_name(tmp_path):
    path = write(tmp_path, MINIMAL + "\n[sync]\nhistory_months = 6\nmax_dorp = 0.10\n")
    assert problems(path) == [f"{path}:9: [sync] unknown setting 'max_dorp' — did you mean 'max_drop'?"]


def test_a_misspelt_filter_is_refused_so_excluded_debtors_are_never_sent(tmp_path):
    path = write(tmp_path, MINIMAL + '[filters]\nexclude_group = ["Koncern"]\n')
    assert problems(path) == [
        f"{path}:7: [filters] unknown setting 'exclude_group' — did you mean 'exclude_groups'?"
    ]


def test_an_unknown_section_is_refused(tmp_path):
    path = write(tmp_path, MINIMAL + '\n[filter]\nexclude_groups = ["Koncern"]\n')
    assert problems(path) == [f"{path}:7: unknown section [filter] — did you mean [filters]?"]


@pytest.mark.parametrize(
    "args",
    [
        ["sync"],
        ["check"],
        ["export", "out"],
        ["history"],
        ["show", "1"],
        ["report", "aging"],
        ["webhook", "serve"],
    ],
)
def test_every_command_exits_2_with_the_problem_on_stderr(tmp_path, args):
    path = write(tmp_path, MINIMAL + "[sync]\nmax_dorp = 0.10\n")
    env = {**ENV, "DSOBRIDGE_CONFIG": str(path)}
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == f"{path}:7: [sync] unknown setting 'max_dorp' — did you mean 'max_drop'?\n"
    assert not (tmp_path / "dsobridge-state.sqlite3").exists()


def test_every_problem_is_listed_at_once_in_line_order(tmp_path):
    path = write(
        tmp_path,
        """\
        [dynaccount]
        api_id = "abc"
        page_size = 0
        [mydso]
        login = "acme"
        delivery = "htpp"
        [mapping.clients]
        client_phon = "{phone}"
        [[users]]
        email = "anne@firma.dk"
        [[users]]
        emial = "bo@firma.dk"
        role = "Colector"
        """,
    )
    assert problems(path) == [
        f"{path}:2: [dynaccount] api_id must be a whole number greater than 0",
        f"{path}:3: [dynaccount] page_size must be a whole number between 1 and 10000",
        f"{path}:6: [mydso] delivery must be 'http', 'async' or 'ftp' — did you mean 'http'?",
        f"{path}:8: [mapping.clients] 'client_phon' is not a column of the My DSO Manager clients file"
        " — did you mean 'client_phone'?",
        f"{path}:11: [[users]] #2 email is required",
        f"{path}:12: [[users]] #2 unknown setting 'emial' — did you mean 'email'?",
        f"{path}:13: [[users]] #2 role must be 'Administrator', 'Credit manager', 'Collector',"
        " 'Sales manager', 'Sales administration', 'Financial controller', 'Executive officer', 'Guest'"
        " or 'Resolver'"
        " — did you mean 'Collector'?",
    ]


# --- types and ranges ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("[sync]\nmax_drop = 1.5", "[sync] max_drop must be a number between 0 and 1"),
        ("[sync]\nmax_drop = -0.1", "[sync] max_drop must be a number between 0 and 1"),
        ('[sync]\nmax_drop = "lots"', "[sync] max_drop must be a number between 0 and 1"),
        ("[sync]\nhistory_months = 1.5", "[sync] history_months must be a whole number between 0 and 1200"),
        ("[sync]\nlock_timeout = -1", "[sync] lock_timeout must be a number of at least 0"),
        ('[sync]\nstate = ""', "[sync] state must not be empty"),
        (
            '[dynaccount]\napi_id = 1\nversion = "v6"',
            "[dynaccount] version must be 'v5' or 'v7'",
        ),
        ("[dynaccount]\napi_id = 1\ntimeout = 0", "[dynaccount] timeout must be a number greater than 0"),
        (
            "[dynaccount]\napi_id = 1\nretries = 0",
            "[dynaccount] retries must be a whole number between 1 and 100",
        ),
        (
            '[dynaccount]\napi_id = 1\nbase_url = "api.dynaccount.com"',
            "[dynaccount] base_url must be an http:// or https:// URL",
        ),
        (
            '[mydso]\nlogin = "a"\nftp_port = 70000',
            "[mydso] ftp_port must be a whole number between 1 and 65535",
        ),
        ('[mydso]\nlogin = "a"\nftp_tls = "maybe"', "[mydso] ftp_tls must be true or false"),
        (
            '[mydso]\nlogin = "a"\nreport_timeout = 0',
            "[mydso] report_timeout must be a number greater than 0",
        ),
        ('[mydso]\nlogin = ""', "[mydso] login must not be empty"),
        ('[filters]\nexclude_groups = "Koncern"', '[filters] exclude_groups must be a list, e.g. ["a", "b"]'),
        ("[filters]\nexclude_groups = [true]", "[filters] exclude_groups #1 must be a text"),
        (
            '[format]\nencoding = "klingon"',
            "[format] encoding is not a known encoding (e.g. UTF-8, ISO-8859-1)",
        ),
        ('[format]\ndecimal_style = "comma"', "[format] decimal_style must be 'point' or 'space_comma'"),
        ('[mapping]\nitem_number_format = "{nummer}"', "[mapping] item_number_format is not a valid format"),
        (
            '[mapping]\ndate_format = "%Y-%m"',
            "[mapping] date_format must write the day, the month and the year",
        ),
        (
            '[mapping.items]\nitem_field_perso1 = "{txt"',
            "[mapping.items] item_field_perso1 is not a valid template",
        ),
        (
            '[contacts]\ncollection = "last"',
            "[contacts] collection must be 'statement', 'attention' or 'first'",
        ),
        ("[[users]]\nfirstname = 'x'", "[[users]] #1 email is required"),
        ("[[users]]\nemail = 'anne'", "[[users]] #1 email must be an e-mail address"),
        ("[webhook]\nport = 65536", "[webhook] port must be a whole number between 0 and 65535"),
        ('[webhook]\npath = "hook"', '[webhook] path must start with "/"'),
        ("[webhook]\ndebounce = -1", "[webhook] debounce must be a number of at least 0"),
        ("[webhook]\nmax_body = 100", "[webhook] max_body must be a whole number of at least 1024"),
        ("[webhook]\nmax_depth = 0", "[webhook] max_depth must be a whole number between 1 and 1000"),
        ("[alerts]\nstale_after_hours = 0", "[alerts] stale_after_hours must be a number greater than 0"),
        ('[logging]\nlevel = "loud"', "[logging] level must be 'debug', 'info', 'warning' or 'error'"),
        ('[logging]\nformat = "xml"', "[logging] format must be 'text' or 'json'"),
        ("[mapping]\nitem_types = 3", "[mapping.item_types] must be a table"),
        ('[mydso]\nlogin = "a"\nchannel = "http"\ndelivery = "http"', "[mydso] give delivery only"),
    ],
)
def test_wrong_types_and_ranges_are_refused_clearly(tmp_path, section, message):
    # a [dynaccount] or [mydso] given here replaces the minimal one
    kept = [part for part in MINIMAL.split("\n\n") if not section.startswith(part.split("\n")[0])]
    path = write(tmp_path, "\n\n".join(kept) + "\n" + section + "\n")
    found = problems(path)
    assert len(found) == 1 and message in found[0], found
    assert found[0].startswith(f"{path}:"), found


def test_missing_sections_and_required_keys(tmp_path):
    assert problems(write(tmp_path, "[mydso]\nlogin = 'a'\n")) == [
        f"{tmp_path / 'dsobridge.toml'}: [dynaccount] is missing (it must hold api_id)"
    ]
    path = write(tmp_path, "[dynaccount]\napi_id = 5\n\n[mydso]\nbase_url = 'https://x.example'\n")
    assert problems(path) == [f"{path}:4: [mydso] login is required"]


def test_mapping_overrides_must_be_columns_of_their_own_file(tmp_path):
    path = write(
        tmp_path,
        MINIMAL
        + textwrap.dedent(
            """\
            [mapping.clients]
            client_comments = "Sælger: {note}"
            client_field_perso2 = "{ean}"
            item_field_perso1 = "{txt}"
            [mapping.contacts]
            contact_function = "{attention_position}"
            [mapping.items]
            item_business_case = "{credit_invoice_id_}"
            """
        ),
    )
    assert problems(path) == [
        f"{path}:9: [mapping.clients] 'item_field_perso1' is not a column of the My DSO Manager clients file"
        " — did you mean 'client_field_perso1'?"
    ]
    path.write_text(path.read_text().replace('item_field_perso1 = "{txt}"\n', ""))
    mapping = load_config(path, env=ENV).mapping
    assert list(mapping.client_fields) == ["client_comments", "client_field_perso2"]  # the file's order
    assert mapping.contact_fields == {"contact_function": "{attention_position}"}
    assert mapping.item_fields == {"item_business_case": "{credit_invoice_id_}"}


def test_item_types_take_the_three_posting_kinds_and_my_dso_item_types(tmp_path):
    path = write(tmp_path, MINIMAL + '[mapping.item_types]\nDEBIT = "FAC"\nPAYMENT = "RGX"\n')
    assert problems(path) == [
        f"{path}:7: [mapping.item_types] unknown Dynaccount posting kind 'DEBIT'"
        " (one of: INVOICE, CREDITNOTE, PAYMENT)",
        f"{path}:8: [mapping.item_types] PAYMENT must be 'FAC', 'AVO', 'RGL', 'ODI', 'TRT' or 'DPA'"
        " — did you mean 'RGL'?",
    ]
    path = write(tmp_path, MINIMAL + '[mapping.item_types]\nPAYMENT = "ODI"\n')
    assert load_config(path, env=ENV).mapping.item_types == {
        "INVOICE": "FAC",
        "CREDITNOTE": "AVO",
        "PAYMENT": "ODI",
    }


def test_not_toml_names_the_file_and_line(tmp_path):
    path = write(tmp_path, MINIMAL + "[sync\nmax_drop = 0.3\n")
    assert problems(path) == [
        f"{path}:6: not valid TOML: Expected ']' at the end of a table declaration at column 6"
    ]
    missing = tmp_path / "nope.toml"
    assert problems(missing) == [f"config file {missing} not found (create one with `dsobridge init`)"]


# --- the values --------------------------------------------------------------------------------------------
def test_a_minimal_file_gets_every_default(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), env=ENV)
    assert (config.dynaccount.api_id, config.dynaccount.version, config.dynaccount.page_size) == (
        1234,
        "v5",
        1000,
    )
    assert config.dynaccount.base_url == "https://api.dynaccount.com"
    assert config.max_drop == Decimal("0.30") and config.history_months == 0 and config.lock_timeout == 600
    md = config.mydso
    assert (md.delivery, md.channel, md.ftp_host, md.ftp_port, md.ftp_tls, md.ftp_login) == (
        "http",
        "http",
        "account.mydsomanager.com",
        21,
        True,
        "acme",
    )
    assert md.ftp_cafile is None and md.ftp_password == md.password == Secret("hunter2-0451")
    assert md.report_timeout == 600
    assert (config.webhook.host, config.webhook.port, config.webhook.path) == (
        "127.0.0.1",
        8088,
        "/dynaccount-webhook/",
    )
    assert (config.webhook.debounce, config.webhook.max_body, config.webhook.max_depth) == (2.0, 1048576, 32)
    assert config.webhook.public_url is None
    assert config.alerts.urls == () and config.alerts.stale_after_hours == 26
    assert config.alerts.on_failed and config.alerts.on_refused and config.alerts.on_stale
    assert (config.logging.level, config.logging.format) == ("info", "text")
    assert config.source == tmp_path / "dsobridge.toml"


def test_delivery_its_old_name_channel_and_the_ftp_settings(tmp_path):
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    path = write(
        tmp_path,
        """\
        [dynaccount]
        api_id = 1
        [mydso]
        login = "acme"
        base_url = "https://dso.example.com/"
        channel = "ftp"
        ftp_port = 990
        ftp_tls = false
        ftp_cafile = "ca.pem"
        ftp_login = "acme-ftp"
        """,
    )
    env = {**ENV, "DSOBRIDGE_MYDSO_FTP_PASSWORD": "ftp-pass"}
    md = load_config(path, env=env).mydso
    assert (md.delivery, md.channel, md.base_url, md.ftp_host) == (
        "ftp",
        "ftp",
        "https://dso.example.com",
        "dso.example.com",
    )
    assert (md.ftp_port, md.ftp_tls, md.ftp_login, md.ftp_cafile) == (
        990,
        False,
        "acme-ftp",
        tmp_path / "ca.pem",
    )
    assert md.ftp_password.reveal() == "ftp-pass" and md.password.reveal() == "hunter2-0451"
    (tmp_path / "ca.pem").unlink()
    assert problems(path, env) == [f"{path}:9: [mydso] ftp_cafile: no such file {tmp_path / 'ca.pem'}"]


def test_the_default_state_is_named_after_the_config_file(tmp_path):
    acme = load_config(write(tmp_path, MINIMAL, "acme.toml"), env=ENV)
    other = load_config(write(tmp_path, MINIMAL, "other.toml"), env=ENV)
    plain = load_config(write(tmp_path, MINIMAL), env=ENV)
    assert acme.state_path == tmp_path / "acme-state.sqlite3" == default_state_path(tmp_path / "acme.toml")
    assert other.state_path == tmp_path / "other-state.sqlite3"
    assert plain.state_path == tmp_path / "dsobridge-state.sqlite3"
    # a relative state is relative to the config file's folder, not the working directory
    sub = tmp_path / "etc"
    sub.mkdir()
    assert load_config(write(sub, MINIMAL + '[sync]\nstate = "db/s.sqlite3"\n'), env=ENV).state_path == (
        sub / "db" / "s.sqlite3"
    )


# --- secrets ------------------------------------------------------------------------------------------------
def test_secrets_from_the_environment_alone(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), env=ENV)
    assert config.dynaccount.api_key.reveal() == "k" * 40
    assert config.dynaccount.api_secret.reveal() == "s" * 40
    assert config.mydso.password.reveal() == "hunter2-0451"
    text = repr(config)
    assert "hunter2" not in text and "k" * 40 not in text and "Secret('***')" in text
    env = {k: v for k, v in ENV.items() if k != "DSOBRIDGE_MYDSO_PASSWORD"}
    assert problems(write(tmp_path, MINIMAL), env) == [
        f"{tmp_path / 'dsobridge.toml'}: secret 'mydso_password' is missing: set $DSOBRIDGE_MYDSO_PASSWORD"
        " (or put mydso_password in a secrets file)"
    ]


def test_a_secrets_file_is_optional_owner_only_and_the_environment_wins(tmp_path):
    path = write(tmp_path, MINIMAL + '[secrets]\nfile = "private/secrets.toml"\n')
    (tmp_path / "private").mkdir()
    secrets = write(
        tmp_path / "private",
        'dynaccount_api_key = "KEY-0451"\ndynaccount_api_secret = "SECRET-0451"\n'
        'mydso_password = "PASS-0451"\n',
        "secrets.toml",
    )
    os.chmod(secrets, 0o600)
    config = load_config(path, env={})
    assert config.dynaccount.api_key.reveal() == "KEY-0451" and config.mydso.password.reveal() == "PASS-0451"
    assert load_config(path, env=ENV).mydso.password.reveal() == "hunter2-0451"
    # $DSOBRIDGE_SECRETS_FILE names it too
    assert load_config(
        write(tmp_path, MINIMAL, "b.toml"), env={"DSOBRIDGE_SECRETS_FILE": str(secrets)}
    ).mydso.password
    os.chmod(secrets, 0o640)
    assert problems(path, {}) == [
        f"secrets file {secrets} must be readable by its owner only (chmod 600 {secrets})"
    ]
    os.chmod(secrets, 0o600)
    secrets.write_text(secrets.read_text() + 'mydso_pasword = "PASS-0451"\n')
    assert problems(path, {}) == [
        f"{secrets}:4: unknown secret 'mydso_pasword' — did you mean 'mydso_password'?"
    ]


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("dynaccount", "api_key", "KEY-0451-LEAK"),
        ("dynaccount", "api_secret", "SECRET-0451-LEAK"),
        ("mydso", "password", "PASS-0451-LEAK"),
        ("mydso", "ftp_password", "FTP-0451-LEAK"),
    ],
)
def test_a_secret_in_the_config_file_is_refused_without_showing_it(tmp_path, where, key, value):
    text = MINIMAL.replace(f"[{where}]\n", f'[{where}]\n{key} = "{value}"\n')
    found = problems(write(tmp_path, text))
    assert len(found) == 1 and f"[{where}] {key} does not belong in the config file" in found[0]
    assert value not in found[0]


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("env", "$DSOBRIDGE_MYDSO_PASSWORD: secret 'mydso_password' has spaces around it"),
        ("file", ":3: secret 'mydso_password' has spaces around it"),
        ("file-int", ":3: secret 'mydso_password' must be a text"),
        ("config", "[mydso] unknown setting 'pasword'"),
        ("url", "$DSOBRIDGE_ALERT_URLS: secret 'alert_urls' URL #2 is not of the form scheme://…"),
    ],
)
def test_a_wrong_secret_value_never_shows(tmp_path, source, problem):
    leak = "Tr0ub4dor-LEAK-0451"
    env = dict(ENV)
    path = write(tmp_path, MINIMAL + '[secrets]\nfile = "s.toml"\n')
    secrets = write(
        tmp_path, 'dynaccount_api_key = "a"\ndynaccount_api_secret = "b"\nmydso_password = "c"\n', "s.toml"
    )
    os.chmod(secrets, 0o600)
    if source == "env":
        env["DSOBRIDGE_MYDSO_PASSWORD"] = f"{leak}\n"
    elif source == "file":
        del env["DSOBRIDGE_MYDSO_PASSWORD"]
        secrets.write_text(secrets.read_text().replace('"c"', f'" {leak}"'))
    elif source == "file-int":
        del env["DSOBRIDGE_MYDSO_PASSWORD"]
        leak = "904519045190451"
        secrets.write_text(secrets.read_text().replace('"c"', leak))
    elif source == "config":
        path.write_text(path.read_text().replace('login = "acme"', f'login = "acme"\npasword = "{leak}"'))
    else:
        env["DSOBRIDGE_ALERT_URLS"] = f"tgram://{leak}/chat, {leak}"
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env)
    exc = caught.value
    assert any(problem in p for p in exc.problems), exc.problems
    shown = [str(exc), repr(exc), *exc.problems, "".join(traceback.format_exception(exc))]
    assert not any(leak in text for text in shown)
    assert (
        exc.__cause__ is None and exc.__context__ is None
    )  # pydantic's error (it holds the input) is not chained


def test_alert_urls_are_secrets_shown_by_their_scheme_only(tmp_path):
    path = write(tmp_path, MINIMAL + '[alerts]\nurls = ["json://hooks.example/x"]\non_stale = false\n')
    config = load_config(path, env=ENV)
    assert config.alerts.urls == (AlertUrl("json://hooks.example/x"),) and not config.alerts.on_stale
    token = "tgram://123456:SECRETTOKEN/987"
    config = load_config(
        path, env={**ENV, "DSOBRIDGE_ALERT_URLS": f"{token}, mailtos://u:PASSWORD@mail.example"}
    )
    urls = config.alerts.urls
    assert [u.reveal() for u in urls] == [token, "mailtos://u:PASSWORD@mail.example"]
    assert [u.scheme for u in urls] == ["tgram", "mailtos"]
    shown = [repr(config), str(urls[0]), str(config.alerts.model_dump(mode="json"))]
    assert not any("SECRETTOKEN" in s or "PASSWORD" in s for s in shown)
    assert "AlertUrl('tgram://***')" in repr(config)
    assert "urls" not in config.to_data()["alerts"]


# --- template and docs --------------------------------------------------------------------------------------
def test_init_writes_a_file_that_loads_with_secrets_from_the_environment(tmp_path):
    path = tmp_path / "acme.toml"
    args = ["init", "--path", str(path), "--api-id", "592912", "--mydso-login", "acme-api"]
    result = CliRunner().invoke(cli, args, env={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "DSOBRIDGE_MYDSO_PASSWORD" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["acme.toml"]  # no secrets file by default
    config = load_config(path, env=ENV)
    assert config.dynaccount.api_id == 592912 and config.mydso.login == "acme-api"
    assert config.state_path == tmp_path / "acme-state.sqlite3"
    checked = CliRunner().invoke(cli, ["history", "--config", str(path)], env=ENV, catch_exceptions=False)
    assert checked.exit_code == 0, checked.output


def test_init_with_a_secrets_file_creates_it_owner_only_and_names_it(tmp_path):
    path = tmp_path / "dsobridge.toml"
    args = [
        "init",
        "--path",
        str(path),
        "--api-id",
        "7",
        "--mydso-login",
        "a",
        "--secrets-file",
        "s/secrets.toml",
    ]
    assert CliRunner().invoke(cli, args, env={}, catch_exceptions=False).exit_code == 0
    secrets = tmp_path / "s" / "secrets.toml"
    assert secrets.stat().st_mode & 0o777 == 0o600
    secrets.write_text('dynaccount_api_key = "k"\ndynaccount_api_secret = "s"\nmydso_password = "p"\n')
    assert load_config(path, env={}).mydso.password.reveal() == "p"


def test_the_template_with_every_example_uncommented_still_loads(tmp_path):
    (tmp_path / "mydso-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    text = render_template(api_id=1, mydso_login="acme")
    text = re.sub(r"(?m)^# (\[secrets\]|file = .*)$", "", text)  # no secrets file: the environment
    examples = re.sub(r"(?m)^# (\[\[?[a-z.]+\]\]?|[a-z_0-9]+ = .*)$", r"\1", text)
    assert examples.count("\n# ") < text.count("\n# ") - 10
    config = load_config(write(tmp_path, examples), env=ENV)
    assert config.users[0].email == "anne@example.dk" and config.mapping.item_fields == {
        "item_field_perso1": "{txt}"
    }
    assert config.state_path == tmp_path / "dsobridge-state.sqlite3"
    assert str(config.webhook.public_url).startswith("https://")


def test_the_example_in_the_docs_loads(tmp_path):
    block = re.search(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert block is not None
    config = load_config(write(tmp_path, block.group(1)), env=ENV)
    assert config.mapping.exclude_groups == ("Koncern",) and config.users


def test_key_lines_follow_tables_arrays_quotes_and_multiline_strings():
    lines = KeyLines(
        textwrap.dedent(
            '''\
            top = 1
            [sync]
            "max drop" = 2
            text = """
            fake = 3
            """
            [[users]]
            email = "a"
            [[users]]
            role.name = "x"
            [users.extra]
            n = 1
            '''
        )
    )
    assert lines.line(("top",)) == 1
    assert lines.line(("sync", "max drop")) == 3
    assert lines.line(("fake",)) is None and lines.line(("sync", "fake")) == 2  # inside a string: its table
    assert lines.line(("users", 0, "email")) == 8
    assert lines.line(("users", 1)) == 9 and lines.line(("users", 1, "role", "name")) == 10
    assert lines.line(("users", 1, "extra", "n")) == 12
    assert lines.line(("users", 1, "missing")) == 9
