"""``dsobridge sandbox …``: the local emulators of Dynaccount and My DSO Manager."""

from __future__ import annotations

import click

from dsobridge.cli import LazyGroup


@click.group(
    cls=LazyGroup,
    lazy={"dynaccount": "sandbox_dynaccount:dynaccount", "mydso": "sandbox_mydso:mydso"},
)
def sandbox() -> None:
    """Run local sandboxes of Dynaccount and My DSO Manager."""
