"""The ``dsobridge`` command line: a thin root over the library.

Each command family lives in ``dsobridge.commands.<module>`` and is imported only when it is invoked, so
``dsobridge --help`` stays fast and the library packages never import Click.
"""

from __future__ import annotations

import importlib

import click

from dsobridge import __version__

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
    "report": "report:report",
    "demo": "demo:demo",
    "webhook": "webhook:webhook",
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
        return getattr(module, attribute)


@click.group(cls=LazyGroup, lazy=_ROOT_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dsobridge")
def cli() -> None:
    """Deliver Dynaccount receivables to My DSO Manager, and run local sandboxes of both."""


def main() -> None:
    cli()
