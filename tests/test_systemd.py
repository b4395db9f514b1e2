"""The systemd units in contrib/systemd/ (documented in docs/sync.md): valid for systemd, and their commands
are real dsobridge commands."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dsobridge.cli import cli

UNITS = Path(__file__).parents[1] / "contrib" / "systemd"


def units() -> list[Path]:
    return sorted(UNITS.glob("dsobridge-*"))


def exec_start(unit: Path) -> list[str]:
    line = next(line for line in unit.read_text().splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_every_service_runs_a_dsobridge_command_that_exists():
    services = [u for u in units() if u.suffix == ".service"]
    assert {u.name for u in services} == {
        "dsobridge-sync.service",
        "dsobridge-webhook.service",
        "dsobridge-check.service",
        "dsobridge-fleet-worker@.service",
        "dsobridge-fleet-serve.service",
    }
    for service in services:
        argv = [a.replace("%H-%i", "host-1") for a in exec_start(service)]
        assert argv[0] == "/srv/dsobridge/.venv/bin/dsobridge"
        shown = CliRunner().invoke(cli, [*argv[1:], "--help"])
        assert shown.exit_code == 0, (service.name, shown.output)
    webhook = (UNITS / "dsobridge-webhook.service").read_text()
    assert "Restart=on-failure" in webhook and "/healthz" in webhook
    for timer in ("dsobridge-sync.timer", "dsobridge-check.timer"):
        assert (UNITS / timer).read_text().count("Unit=dsobridge-") == 1


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_analyze_verifies_the_units(tmp_path):
    """The units as an administrator installs them (paths pointing at this checkout's interpreter)."""
    executable = tmp_path / "dsobridge"
    executable.write_text(f'#!/bin/sh\nexec {sys.executable} -m dsobridge "$@"\n')
    executable.chmod(0o755)
    secrets = tmp_path / "secrets.env"
    secrets.write_text("")
    for unit in units():
        text = unit.read_text().replace("/srv/dsobridge/.venv/bin/dsobridge", str(executable))
        text = text.replace("/etc/dsobridge/secrets.env", str(secrets)).replace(
            "/srv/dsobridge", str(tmp_path)
        )
        text = text.replace("User=dsobridge", "User=root").replace("Group=dsobridge", "Group=root")
        (tmp_path / unit.name).write_text(text)
    paths = [str(tmp_path / u.name.replace("@.", "@1.")) for u in units()]
    for unit in units():
        if "@." in unit.name:
            (tmp_path / unit.name).rename(tmp_path / unit.name.replace("@.", "@1."))
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *paths], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in verified.stderr.splitlines() if "dsobridge" in line]
    assert verified.returncode == 0 and problems == [], verified.stderr
