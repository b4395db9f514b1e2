"""Tenants: made from a dsobridge.toml, secrets encrypted at rest under rotating keys, never shown."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from dsobridge.cli import cli
from dsobridge.fleet import Keyring, SecretsUnreadable, TenantError, TenantRegistry
from dsobridge.fleet.tenants import secrets_from_env, tenant_config, without_secrets_table
from dsobridge.secret import Secret
from dsobridge.sync.config import ConfigError

SECRETS = {
    "dynaccount_api_key": Secret("key-4f1d9a-SECRET"),
    "dynaccount_api_secret": Secret("secret-77c2e1-SECRET"),
    "mydso_password": Secret("password-0b3e5d-SECRET"),
}
ENV = {
    "DSOBRIDGE_DYNACCOUNT_API_KEY": "key-4f1d9a-SECRET",
    "DSOBRIDGE_DYNACCOUNT_API_SECRET": "secret-77c2e1-SECRET",
    "DSOBRIDGE_MYDSO_PASSWORD": "password-0b3e5d-SECRET",
}


def config_text(api_id: int = 592912, login: str = "acme-api", extra: str = "") -> str:
    return (
        textwrap.dedent(
            f"""\
        [secrets]
        file = "/nonexistent/secrets.toml"   # a fleet never reads it

        [dynaccount]
        api_id = {api_id}
        base_url = "https://api.dynaccount.com"

        [mydso]
        login = "{login}"

        [filters]
        exclude_groups = ["Koncern"]
        """
        )
        + extra
    )


@pytest.fixture
def keyring():
    return Keyring([Keyring.new_key()])


@pytest.fixture
def registry(fleet_db, keyring):
    return TenantRegistry(fleet_db, keyring)


def test_a_tenant_keeps_its_config_text_and_settings(registry):
    tenant = registry.add("acme", config_text(), SECRETS)
    assert "[secrets]" not in tenant.config_text and "Koncern" in tenant.config_text
    config = registry.config(registry.get("acme"))
    assert config.dynaccount.api_id == 592912 and config.mydso.login == "acme-api"
    assert config.mapping.exclude_groups == ("Koncern",)
    assert config.dynaccount.api_key.reveal() == "key-4f1d9a-SECRET"
    assert [t.name for t in registry.list()] == ["acme"]
    assert registry.get(tenant.id).name == "acme"


def test_secrets_are_encrypted_at_rest_and_never_shown(registry, fleet_db):
    tenant = registry.add("acme", config_text(), SECRETS)
    with fleet_db.pool.connection() as conn:
        dump = "\n".join(str(row) for row in conn.execute("SELECT * FROM tenants").fetchall())
    shown = repr(tenant) + repr(registry.list()) + repr(registry.config(tenant)) + repr(registry.keyring)
    for secret in ENV.values():
        assert secret not in dump and secret.encode() not in bytes(registry_secrets_column(fleet_db))
        assert secret not in shown


def registry_secrets_column(db) -> bytes:
    with db.pool.connection() as conn:
        return conn.execute("SELECT secrets FROM tenants").fetchone()[0]


def test_rotation_re_encrypts_under_the_first_key(fleet_db):
    old, new = Keyring.new_key(), Keyring.new_key()
    TenantRegistry(fleet_db, Keyring([old])).add("acme", config_text(), SECRETS)
    both = TenantRegistry(fleet_db, Keyring([new, old]))
    assert both.rotate_keys() == 1
    only_new = TenantRegistry(fleet_db, Keyring([new]))
    assert only_new.secrets(only_new.get("acme"))["mydso_password"].reveal() == "password-0b3e5d-SECRET"
    with pytest.raises(SecretsUnreadable) as raised:
        TenantRegistry(fleet_db, Keyring([old])).secrets(only_new.get("acme"))
    assert "SECRET" not in str(raised.value)


def test_a_tenant_is_refused_twice_or_with_a_bad_config(registry):
    registry.add("acme", config_text(), SECRETS)
    with pytest.raises(TenantError, match="already tenant 'acme'"):
        registry.add("acme-2", config_text(), SECRETS)
    with pytest.raises(TenantError, match="exists already"):
        registry.add("acme", config_text(api_id=1, login="other"), SECRETS)
    with pytest.raises(ConfigError, match="max_drop"):
        registry.add("bad", config_text(api_id=2, extra="[sync]\nmax_drop = 7\n"), SECRETS)
    with pytest.raises(TenantError, match="tenant name"):
        registry.add("Bad Name", config_text(api_id=3), SECRETS)
    assert [t.name for t in registry.list()] == ["acme"]


def test_update_keeps_the_state_and_its_company(registry, fleet_db):
    from dsobridge.fleet import PostgresStateStore
    from dsobridge.sync.delivery import identity_of

    tenant = registry.add("acme", config_text(), SECRETS)
    with PostgresStateStore(fleet_db.pool, tenant.id) as state:
        state.bind(identity_of(registry.config(tenant)))
    new = {**SECRETS, "mydso_password": Secret("password-rotated-SECRET")}
    updated = registry.update("acme", config_text=config_text(extra="[sync]\nmax_drop = 0.5\n"), secrets=new)
    config = registry.config(updated)
    assert (
        config.mydso.password.reveal() == "password-rotated-SECRET"
        and "max_drop = 0.5" in updated.config_text
    )
    with pytest.raises(TenantError, match="another company"):
        registry.update("acme", config_text=config_text(login="other-api"))
    with pytest.raises(ConfigError):
        registry.update("acme", config_text=config_text(extra="[sync]\nmax_dorp = 0.5\n"))
    assert registry.config(registry.get("acme")).mydso.login == "acme-api"


def test_disable_enable_remove(registry, fleet_db):
    tenant = registry.add("acme", config_text(), SECRETS)
    assert not registry.set_enabled("acme", False).enabled
    assert registry.list(enabled_only=True) == []
    assert registry.set_enabled("acme", True).enabled
    from dsobridge.fleet import PostgresStateStore

    with PostgresStateStore(fleet_db.pool, tenant.id) as state:
        state.add_trigger("debtor", "put", ["10001"])
    registry.remove("acme")
    with pytest.raises(TenantError):
        registry.get("acme")
    with fleet_db.pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM triggers").fetchone()[0] == 0


def test_secrets_come_from_the_environment():
    assert secrets_from_env(ENV)["dynaccount_api_secret"].reveal() == "secret-77c2e1-SECRET"
    with pytest.raises(TenantError, match="DSOBRIDGE_MYDSO_PASSWORD"):
        secrets_from_env({k: v for k, v in ENV.items() if "MYDSO" not in k})


def test_a_secrets_table_is_left_out_or_refused():
    assert "[secrets]" not in without_secrets_table(config_text())
    with pytest.raises(ConfigError):
        without_secrets_table('secrets = { file = "x" }\n[dynaccount]\napi_id = 1\n')
    assert tenant_config(config_text(), SECRETS, name="acme").source == "tenant acme"


def test_the_cli_adds_lists_shows_and_removes(fleet_db, pg_url, tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text(config_text(), encoding="utf-8")
    env = {
        **ENV,
        "DSOBRIDGE_FLEET_DATABASE_URL": pg_url,
        "DSOBRIDGE_FLEET_SCHEMA": fleet_db.schema,
        "DSOBRIDGE_FLEET_KEYS": Keyring.new_key(),
    }
    runner = CliRunner()
    added = runner.invoke(cli, ["fleet", "add", "acme", "--config", str(path)], env=env)
    assert added.exit_code == 0, added.output
    outputs = [added.output]
    for args in (
        ["list"],
        ["list", "--json"],
        ["show", "acme"],
        ["show", "acme", "--json"],
        ["run", "acme"],
        ["status"],
        ["disable", "acme"],
        ["remove", "acme", "--yes"],
    ):
        result = runner.invoke(cli, ["fleet", *args], env=env)
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.output)
    assert "Koncern" in outputs[3] and "job" in outputs[5]
    shown = json.loads(outputs[4])  # the webhook URL to enter in Dynaccount: a token, never the name
    assert shown["webhook_url"].startswith("/hooks/") and "acme" not in shown["webhook_url"]
    assert f"webhook: {shown['webhook_url']}" in outputs[3]
    for secret in ENV.values():
        assert all(secret not in out for out in outputs)
    missing = runner.invoke(
        cli, ["fleet", "add", "beta", "--config", str(path)], env={**env, "DSOBRIDGE_MYDSO_PASSWORD": ""}
    )
    assert missing.exit_code == 2 and "DSOBRIDGE_MYDSO_PASSWORD" in missing.output
    nokeys = runner.invoke(
        cli, ["fleet", "add", "beta", "--config", str(path)], env={**env, "DSOBRIDGE_FLEET_KEYS": ""}
    )
    assert nokeys.exit_code == 2 and "DSOBRIDGE_FLEET_KEYS" in nokeys.output
