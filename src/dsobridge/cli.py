"""The ``dsobridge`` command line: a thin root over the library.

Each command family lives in ``dsobridge.commands.<module>`` and is imported only when it is invoked, so
``dsobridge --help`` stays fast and the library packages never import Click.
"""

from __future__ import annotations

import importlib
from typing import Any

import click
from click.core import ParameterSource

from dsobridge import __version__
from dsobridge.logs import LOG_FORMATS, setup_logging, teardown_logging, verbosity_level

# command name -> "module:attribute" under dsobridge.commands
_ROOT_COMMANDS: dict[str, str] = {
    "dynaccount": "dynaccount:dynaccount",
    "mydso": "mydso:mydso",
    "sandbox": "sandbox:sandbox",
    "init": "sync:init_command",
    "check": "sync:check_command",
    "sync": "sync:sync_command",
    "export": "sync:export_command",
    "history": "sync:history_command",
    "show": "sync:show_command",
    "unlock": "sync:unlock_command",
    "report": "report:report",
    "demo": "demo:demo",
    "webhook": "webhook:webhook",
    "fleet": "fleet:fleet",
}


class LazyGroup(click.Group):
    """A Click group whose sub-commands are imported on first use."""

    def __init__(self, *args: object, lazy: dict[str, str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self._lazy:
            return command
        module_name, attribute = self._lazy[cmd_name].split(":")
        module = importlib.import_module(f"dsobridge.commands.{module_name}")
        return with_logging_options(getattr(module, attribute))


# ------------------------------------------------------------------------------------- logging options
# Given before the command name (``dsobridge -v sync``) or after it (``dsobridge sync -v``): the root group
# declares them (with their environment variables), and every sub-command gets copies (without them) whose
# values, when given, are merged into the root's and applied at once. ``-v`` counts add up across both.

_LOGGING = "dsobridge.logging"  # key of the chosen values in ctx.meta (shared by every context of a run)
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _logging_params(*, root: bool) -> list[click.Parameter]:
    def env(name: str) -> str | None:
        return name if root else None

    common: dict[str, Any] = {"expose_value": False, "callback": _remember_logging_option}
    return [
        click.Option(
            ["-v", "--verbose"], count=True, help="More log lines on stderr: -v info, -vv debug.", **common
        ),
        click.Option(
            ["-q", "--quiet"], count=True, help="Fewer: -q errors only, -qq critical only.", **common
        ),
        click.Option(
            ["--log-level"],
            type=click.Choice(_LOG_LEVELS, case_sensitive=False),
            envvar=env("DSOBRIDGE_LOG_LEVEL"),
            help="Log level (wins over -v/-q). [env DSOBRIDGE_LOG_LEVEL]" if root else "Log level.",
            **common,
        ),
        click.Option(
            ["--log-format"],
            type=click.Choice(LOG_FORMATS),
            envvar=env("DSOBRIDGE_LOG_FORMAT"),
            help="text (default) or json, one object per line. [env DSOBRIDGE_LOG_FORMAT]"
            if root
            else "text or json.",
            **common,
        ),
    ]


def _remember_logging_option(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    source = ctx.get_parameter_source(param.name or "")
    if source in (None, ParameterSource.DEFAULT) or not value:
        return
    chosen = ctx.meta.setdefault(_LOGGING, {})
    if param.name in ("verbose", "quiet"):
        chosen[param.name] = chosen.get(param.name, 0) + value
    else:
        chosen[param.name] = value
    if ctx.parent is not None:  # given after a command name: the root has already set logging up
        _apply_logging(ctx)


def _apply_logging(ctx: click.Context) -> None:
    chosen = ctx.meta.get(_LOGGING, {})
    level = chosen.get("log_level") or verbosity_level(chosen.get("verbose", 0), chosen.get("quiet", 0))
    setup_logging(level, chosen.get("log_format"))


def with_logging_options(command: click.Command) -> click.Command:
    """Give ``command`` (and, for a group, its sub-commands) the logging options; idempotent."""
    if getattr(command, "_dsobridge_logging", False):
        return command
    command.params.extend(_logging_params(root=False))
    command._dsobridge_logging = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_logging_options(sub)
    return command


@click.group(cls=LazyGroup, lazy=_ROOT_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dsobridge")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Deliver Dynaccount receivables to My DSO Manager, and run local sandboxes of both.

    Log lines (with -v, or warnings and errors) go to stderr; results to stdout.
    """
    _apply_logging(ctx)
    ctx.call_on_close(teardown_logging)


cli.params.extend(_logging_params(root=True))
cli._dsobridge_logging = True  # type: ignore[attr-defined]


def main() -> None:
    cli()
