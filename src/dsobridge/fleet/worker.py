"""``dsobridge fleet worker``: run the fleet's jobs, any number of processes on any number of machines.

A worker migrates the database (idempotent, under a lock), checks the encryption keys, then runs
Procrastinate's worker on the fleet's queue with ``concurrency`` jobs at a time (each a sync run in a thread
of its own) beside a loop that puts back the jobs of workers that stopped sending heartbeats. SIGTERM / Ctrl-C
stop it gracefully: no new job is taken and the running ones finish (a worker killed harder than that is a
stalled worker: its jobs are retried by the others, and its locks went with its database sessions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from dsobridge.fleet.db import FleetDatabase
from dsobridge.fleet.jobs import QUEUE, FleetQueue
from dsobridge.fleet.limits import SharedLimits
from dsobridge.fleet.run import TenantRunner
from dsobridge.fleet.settings import FleetSettings
from dsobridge.fleet.tenants import TenantRegistry

log = logging.getLogger("dsobridge.fleet")


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 2
    name: str | None = None
    today: date | None = None  # the sandboxes' business date (tests, demos); None: the real date
    migrate: bool = True
    wait: bool = True  # False: stop once the queue is empty (tests, one-off catch-up)


def run_worker(settings: FleetSettings, options: WorkerOptions) -> None:
    """Run until stopped (SIGTERM / Ctrl-C), or until the queue is empty with ``wait=False``."""
    # the application name shows in pg_stat_activity which fleet (schema) a connection serves
    db = FleetDatabase.from_settings(settings, application=f"dsobridge-worker/{settings.schema}", pool_size=2)
    if options.migrate:
        for step in db.migrate():
            log.info("migrated: %s", step)
    registry = TenantRegistry(db)
    registry.keyring  # noqa: B018 - fail at start, not at the first job, when the keys are missing
    limits = SharedLimits(db)
    runner = TenantRunner(db, registry, limits, today=options.today)
    queue = FleetQueue(db, settings, body=runner)
    try:
        asyncio.run(_work(queue, settings, options))
    finally:
        limits.close()
        db.close()


async def _work(queue: FleetQueue, settings: FleetSettings, options: WorkerOptions) -> None:
    loop = asyncio.get_running_loop()
    # Procrastinate runs a synchronous job in the loop's default executor: one thread per concurrent job
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=options.concurrency + 1, thread_name_prefix="dsobridge-job")
    )
    async with queue.app.open_async():
        reaper = asyncio.create_task(_retry_stalled_forever(queue, settings.heartbeat))
        try:
            await queue.app.run_worker_async(
                queues=[QUEUE],
                concurrency=options.concurrency,
                name=options.name,
                wait=options.wait,
                update_heartbeat_interval=settings.heartbeat,
                stalled_worker_timeout=settings.stalled_after,
                delete_jobs="successful",  # the runs are the history (state); failed jobs stay to be seen
            )
        finally:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper


async def _retry_stalled_forever(queue: FleetQueue, every: float) -> None:
    while True:
        try:
            await queue.retry_stalled()
        except Exception as exc:  # the database away for a moment: try again next time
            log.warning("could not check for stalled jobs: %s", type(exc).__name__)
        await asyncio.sleep(every)
