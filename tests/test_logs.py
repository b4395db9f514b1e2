"""Log lines: the format (text and JSON), the context (company, run, threads), redaction, levels, the CLI."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

from dsobridge import logs
from dsobridge.cli import cli, with_logging_options
from dsobridge.company import CompanyRef
from dsobridge.logs import (
    JsonFormatter,
    TextFormatter,
    bind_context,
    contextual,
    current_context,
    redact,
    register_secret,
    setup_logging,
    teardown_logging,
    use_config_defaults,
    verbosity_level,
)
from dsobridge.secret import Secret

ACME = CompanyRef(592912, "acme-api")
API_KEY = "k3y-" + "7f" * 18
API_SECRET = "s3cret-" + "a1" * 18
TEXT_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) (?P<level>[A-Z]+) (?P<company>\S+) "
    r"run=(?P<run>\S+) (?P<logger>[\w.]+): (?P<message>.*)$"
)


@pytest.fixture
def stream():
    """The dsobridge handler writing to a buffer; removed (levels restored) afterwards."""
    buffer = io.StringIO()
    yield buffer
    teardown_logging()


@pytest.fixture
def copenhagen(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Copenhagen")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _record(message: str = "hello", *, created: float, name: str = "dsobridge.sync") -> logging.LogRecord:
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, message, None, None)
    record.created = created
    return record


# ------------------------------------------------------------------------------------------------ format


def test_text_line_has_the_local_time_with_its_offset_the_company_and_the_run(copenhagen) -> None:
    winter = _record(created=1796508847.123)  # 2026-12-05T22:14:07.123Z
    summer = _record(created=1783289647.5)  # 2026-07-05T22:14:07.5Z
    with bind_context(company=ACME, run_id=42):
        logs.ContextFilter().filter(winter)
    assert TextFormatter().format(winter) == (
        "2026-12-05T23:14:07.123+01:00 WARNING 592912→acme-api run=42 dsobridge.sync: hello"
    )
    logs.ContextFilter().filter(summer)
    assert (
        TextFormatter().format(summer)
        == "2026-07-06T00:14:07.500+02:00 WARNING - run=- dsobridge.sync: hello"
    )


def test_json_line_has_fixed_keys(copenhagen) -> None:
    record = _record("payé → 100.00", created=1796508847.123)
    with bind_context(company=ACME, run_id=7):
        logs.ContextFilter().filter(record)
    assert json.loads(JsonFormatter().format(record)) == {
        "ts": "2026-12-05T23:14:07.123+01:00",
        "level": "WARNING",
        "logger": "dsobridge.sync",
        "company": "592912→acme-api",
        "run_id": 7,
        "message": "payé → 100.00",
        "exception": None,
    }


def test_setup_logging_writes_every_line_through_one_handler(stream) -> None:
    setup_logging("INFO", "text", stream)
    setup_logging("INFO", "json", stream)  # replaces the first: one line per record, not two
    log = logging.getLogger("dsobridge.test")
    log.debug("not shown")
    with bind_context(company=ACME):
        log.info("shown %d", 1)
        with bind_context(run_id=3):
            try:
                raise ValueError("bad value")
            except ValueError:
                log.exception("failed")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(d["message"], d["company"], d["run_id"]) for d in lines] == [
        ("shown 1", "592912→acme-api", None),
        ("failed", "592912→acme-api", 3),
    ]
    assert lines[1]["level"] == "ERROR" and "ValueError: bad value" in lines[1]["exception"]
    assert all(
        set(d) == {"ts", "level", "logger", "company", "run_id", "message", "exception"} for d in lines
    )


def test_text_tracebacks_follow_their_line(stream) -> None:
    setup_logging("WARNING", "text", stream)
    try:
        {}["missing"]
    except KeyError:
        logging.getLogger("dsobridge.test").warning("lookup failed", exc_info=True)
    first, *rest = stream.getvalue().splitlines()
    assert TEXT_LINE.match(first).group("message") == "lookup failed"
    assert rest[0].startswith("Traceback") and rest[-1] == "KeyError: 'missing'"


# ----------------------------------------------------------------------------------------------- context


def test_bind_context_nests_and_restores() -> None:
    assert current_context() == (None, None)
    with bind_context(company=ACME):
        with bind_context(run_id=5):
            assert current_context() == ("592912→acme-api", 5)
        assert current_context() == ("592912→acme-api", None)
        with bind_context(company="other→x", run_id=6):
            assert current_context() == ("other→x", 6)
        assert current_context() == ("592912→acme-api", None)
    assert current_context() == (None, None)


def test_threads_see_the_context_only_through_contextual(stream) -> None:
    setup_logging("INFO", "json", stream)
    log = logging.getLogger("dsobridge.test")
    with bind_context(company=ACME, run_id=9):
        plain = threading.Thread(target=log.info, args=("plain thread",))
        wrapped = threading.Thread(target=contextual(log.info), args=("contextual thread",))
        for t in (plain, wrapped):
            t.start()
            t.join()
        task = contextual(lambda n: log.info("pool task %d", n) or current_context())
        with ThreadPoolExecutor(max_workers=2) as pool:  # one wrapped function, several threads at once
            seen = list(pool.map(task, range(4)))
    assert seen == [("592912→acme-api", 9)] * 4
    by_message = {
        d["message"]: (d["company"], d["run_id"]) for d in map(json.loads, stream.getvalue().splitlines())
    }
    assert by_message["plain thread"] == (None, None)
    assert by_message["contextual thread"] == ("592912→acme-api", 9)
    assert all(by_message[f"pool task {n}"] == ("592912→acme-api", 9) for n in range(4))


# --------------------------------------------------------------------------------------------- redaction


def test_revealed_secrets_and_url_keys_never_reach_a_line(stream) -> None:
    setup_logging("DEBUG", "text", stream)
    key, secret = Secret(API_KEY), Secret(API_SECRET)
    url = f"https://api.dynaccount.com/v5/592912/{key.reveal()}/get/debtor/json/"
    secret.reveal()
    log = logging.getLogger("dsobridge.test")
    log.warning("POST %s failed", url)
    log.info("echo %s and %s", API_SECRET, {"nested": API_KEY})
    try:
        raise RuntimeError(f"server said {API_SECRET} at {url}")
    except RuntimeError:
        log.error("request failed", exc_info=True, stack_info=True)
    logging.getLogger("httpx2").debug("HTTP Request: POST %s", url)
    text = stream.getvalue()
    assert API_KEY not in text and API_SECRET not in text and API_KEY[:20] not in text
    assert "/v5/592912/***/get/debtor/json/" in text and "RuntimeError: server said ***" in text
    assert "HTTP Request: POST https://api.dynaccount.com/v5/592912/***/get" in text


def test_registered_values_are_masked_in_json_too_but_not_tiny_ones(stream) -> None:
    setup_logging("INFO", "json", stream)
    register_secret("json://hook-user:hook-pass-0451@hooks.example.dk/alerts")
    register_secret("hook-pass-0451")
    register_secret("abc")  # shorter than MASK_MIN_LENGTH: masking every "abc" would garble the lines
    logging.getLogger("dsobridge.test").info(
        "sent to json://hook-user:hook-pass-0451@hooks.example.dk/alerts"
    )
    logging.getLogger("dsobridge.test").info("password hook-pass-0451; abc")
    messages = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
    assert messages == ["sent to ***", "password ***; abc"]
    assert redact("x hook-pass-0451 y") == "x *** y"


# ---------------------------------------------------------------------------------------------- levels


def test_verbosity_flags_map_to_levels() -> None:
    assert verbosity_level(0, 0) is None
    assert verbosity_level(1, 0) == logging.INFO
    assert verbosity_level(2, 0) == verbosity_level(5, 0) == logging.DEBUG
    assert verbosity_level(0, 1) == logging.ERROR
    assert verbosity_level(0, 3) == logging.CRITICAL
    assert verbosity_level(2, 1) == logging.INFO


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        ("WARNING", {"ours warning"}),
        ("INFO", {"ours info", "ours warning"}),
        ("DEBUG", {"ours info", "ours warning", "httpx2 info", "httpcore2 debug"}),
    ],
)
def test_libraries_stay_quiet_unless_debug(stream, level, shown) -> None:
    setup_logging(level, "text", stream)
    logging.getLogger("dsobridge.sync").info("ours info")
    logging.getLogger("dsobridge.sync").warning("ours warning")
    logging.getLogger("httpx2").info("httpx2 info")
    logging.getLogger("httpcore2.http11").debug("httpcore2 debug")
    printed = {TEXT_LINE.match(line).group("message") for line in stream.getvalue().splitlines()}
    assert printed == shown


def test_teardown_restores_the_levels_it_changed(stream) -> None:
    before = {name: logging.getLogger(name).level for name in ("", "httpx2")}
    setup_logging("INFO", "text", stream)
    assert logging.getLogger("httpx2").level == logging.WARNING
    teardown_logging()
    assert {name: logging.getLogger(name).level for name in before} == before
    assert not [
        h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler) and h.stream is stream
    ]


def test_config_defaults_apply_only_where_nothing_was_chosen(stream) -> None:
    setup_logging(None, None, stream)
    use_config_defaults("info", "json")
    logging.getLogger("dsobridge.test").info("from config")
    assert json.loads(stream.getvalue())["message"] == "from config"
    stream.truncate(0)
    stream.seek(0)
    setup_logging("ERROR", "text", stream)  # chosen on the command line: the config does not override it
    use_config_defaults("debug", "json")
    logging.getLogger("dsobridge.test").warning("hidden")
    logging.getLogger("dsobridge.test").error("shown")
    assert TEXT_LINE.match(stream.getvalue()).group("message") == "shown"


def test_bad_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging("loud")
    with pytest.raises(ValueError, match="unknown log format"):
        setup_logging("INFO", "xml")


# ------------------------------------------------------------------------------------------------- CLI


@click.command("log-probe")
def log_probe() -> None:
    """Logs at every level, then prints its result."""
    log = logging.getLogger("dsobridge.probe")
    with bind_context(company=ACME, run_id=1):
        log.debug("probe debug")
        log.info("probe info")
        log.warning("probe warning")
        log.error("probe error")
    click.echo("the result")


@pytest.fixture
def probe_cli():
    cli.add_command(with_logging_options(log_probe))
    yield cli
    cli.commands.pop("log-probe")


@pytest.mark.parametrize(
    ("args", "env", "levels"),
    [
        (["log-probe"], {}, ["WARNING", "ERROR"]),
        (["-v", "log-probe"], {}, ["INFO", "WARNING", "ERROR"]),
        (["log-probe", "-v"], {}, ["INFO", "WARNING", "ERROR"]),
        (["-v", "log-probe", "-v"], {}, ["DEBUG", "INFO", "WARNING", "ERROR"]),
        (["log-probe", "-q"], {}, ["ERROR"]),
        (["-q", "log-probe", "--log-level", "debug"], {}, ["DEBUG", "INFO", "WARNING", "ERROR"]),
        (["log-probe"], {"DSOBRIDGE_LOG_LEVEL": "info"}, ["INFO", "WARNING", "ERROR"]),
        (["log-probe", "--log-level", "error"], {"DSOBRIDGE_LOG_LEVEL": "info"}, ["ERROR"]),
    ],
)
def test_cli_options_before_or_after_the_command(probe_cli, args, env, levels) -> None:
    result = CliRunner().invoke(probe_cli, args, env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == "the result\n"  # log lines never go to stdout
    lines = result.stderr.splitlines()
    assert [TEXT_LINE.match(line).group("level") for line in lines] == levels
    assert all(TEXT_LINE.match(line).group("company") == "592912→acme-api" for line in lines)


def test_cli_json_format_from_the_environment_or_the_option(probe_cli) -> None:
    for args, env in (
        (["log-probe"], {"DSOBRIDGE_LOG_FORMAT": "json"}),
        (["log-probe", "--log-format", "json"], {}),
    ):
        result = CliRunner().invoke(probe_cli, args, env=env)
        assert result.stdout == "the result\n"
        assert [json.loads(line)["message"] for line in result.stderr.splitlines()] == [
            "probe warning",
            "probe error",
        ]


def test_every_command_takes_the_logging_options() -> None:
    def walk(group: click.Group, ctx: click.Context, path: list[str]):
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            yield [*path, name], command
            if isinstance(command, click.Group):
                yield from walk(command, click.Context(command, parent=ctx), [*path, name])

    root = click.Context(cli)
    commands = list(walk(cli, root, []))
    assert len(commands) > 20
    for path, command in commands:
        options = {opt for p in command.params for opt in getattr(p, "opts", [])}
        assert {"-v", "--verbose", "-q", "--quiet", "--log-level", "--log-format"} <= options, path


def test_the_cli_leaves_logging_as_it_found_it(probe_cli) -> None:
    root = logging.getLogger()
    handlers, level, httpx2 = list(root.handlers), root.level, logging.getLogger("httpx2").level
    CliRunner().invoke(probe_cli, ["-q", "log-probe"])
    assert root.handlers == handlers and root.level == level
    assert logging.getLogger("httpx2").level == httpx2


def test_a_sync_against_an_unreachable_dynaccount_logs_readable_lines_only(tmp_path, sync_config) -> None:
    """The issue's scenario: bare ``stamina.retry_scheduled`` lines between the client's warnings."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed once the block ends
    credentials = SimpleNamespace(
        credentials=SimpleNamespace(api_id=592912, api_key="5e7a" * 10, api_secret="c4d1" * 10)
    )
    config, env = sync_config(tmp_path, credentials, url, "http://127.0.0.1:9", "mydso-password-0451")
    config.write_text(config.read_text().replace("retries = 1", "retries = 3\nretry_timeout = 5"))
    result = CliRunner().invoke(cli, ["sync"], env={"DSOBRIDGE_CONFIG": str(config), **env})
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines  # the client's own lines about the failed attempts
    assert all(TEXT_LINE.match(line) for line in lines), lines
    assert "stamina" not in result.stderr and "stamina" not in result.stdout
    assert not any(TEXT_LINE.match(line) for line in result.stdout.splitlines())
    for secret in env.values():
        assert secret not in result.stderr and secret not in result.stdout
