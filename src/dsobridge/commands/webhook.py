"""``dsobridge webhook serve``: receive Dynaccount webhooks; each burst becomes one (targeted) DELTA sync.

The receiver (``dsobridge.sync.receiver``) records every verified call as a trigger in the state store before
answering 202; the trigger worker (``dsobridge.sync.triggers``) runs them after a quiet period and after any
run holding the lock. Settings: ``[webhook]`` in the config, overridable here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dsobridge.commands.sync import _load, config_option


@click.group("webhook")
def webhook() -> None:
    """Receive Dynaccount webhooks and sync on change."""


@webhook.command("serve")
@config_option
@click.option("--host", help="Interface to listen on ([webhook] host, default 127.0.0.1).")
@click.option("--port", type=int, help="Port ([webhook] port, default 8088).")
@click.option("--path", "hook_path", help="The webhook's path ([webhook] path).")
@click.option("--public-url", help="The webhook URL as entered in Dynaccount (when behind a proxy).")
@click.option("--debounce", type=float, help="Quiet seconds before a sync ([webhook] debounce, default 2).")
def serve(
    config_path: Path,
    host: str | None,
    port: int | None,
    hook_path: str | None,
    public_url: str | None,
    debounce: float | None,
) -> None:
    """Serve the receiver; each burst of verified webhooks triggers one DELTA sync of what it touched."""
    import uvicorn

    from dsobridge.sync.receiver import build_receiver
    from dsobridge.sync.runner import run_sync
    from dsobridge.sync.state import SqliteStateStore
    from dsobridge.sync.triggers import TriggerWorker

    config = _load(config_path)
    hook = config.webhook
    host, port = host or hook.host, port or hook.port
    hook_path = hook_path or hook.path

    def sync(options: Any, state: Any) -> Any:
        result = run_sync(config, options, state=state)
        click.echo(
            f"delta sync run {result.run_id} ({result.scope}): {result.status} (exit {result.exit_code})"
        )
        return result

    worker = TriggerWorker(
        lambda: SqliteStateStore(config.state_path),
        sync,
        debounce=hook.debounce if debounce is None else debounce,
    ).start()
    receiver_state = SqliteStateStore(config.state_path)

    def record(table: str, method: str, debtors: Any) -> int:
        trigger = receiver_state.add_trigger(table, method, debtors)
        worker.poke()
        return trigger

    app = build_receiver(
        config.dynaccount.api_secret.reveal(),
        record,
        path=hook_path,
        public_url=public_url or hook.public_url,
        max_body=hook.max_body,
        max_depth=hook.max_depth,
        status=lambda: worker.status(receiver_state),
        healthy=lambda: worker.alive() and receiver_state.trigger_counts() is not None,
    )
    click.echo(f"listening on http://{host}:{port}{hook_path} (status at /status); Ctrl-C to stop")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        worker.close()
        receiver_state.close()
