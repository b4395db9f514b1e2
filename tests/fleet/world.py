"""A fleet of sandboxed companies for the end-to-end test and ``benchmarks/fleet.py``.

``FleetWorld(folder, fleet_db, tenants=20, ...)``:

- one seeded Dynaccount sandbox per tenant and ONE My DSO Manager sandbox with an account per tenant, all
  behind ONE uvicorn server (one thread, one event loop) that listens on 127.0.0.1 (My DSO Manager) and on
  127.0.0.2, 127.0.0.3, … (tenant 0, 1, …'s Dynaccount): the address a request came in on picks the sandbox,
  so every client signs and is verified against its own host exactly as in production;
- the server counts requests per service and second and TCP connections per address;
- the fleet: tenants added from ordinary ``dsobridge.toml`` texts with their secrets, and ``dsobridge fleet
  worker`` processes started and killed like a service manager would.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import uvicorn

from dsobridge.fleet import FleetQueue, FleetSettings, Keyring, TenantRegistry, fleet_overview
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sandbox.dynaccount.sandbox import Credentials
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.secret import Secret

TODAY = date(2026, 11, 20)
MYDSO_HOST = "127.0.0.1"


def dynaccount_host(index: int) -> str:
    return f"127.0.0.{index + 2}" if index < 250 else f"127.0.{index // 250 + 1}.{index % 250 + 2}"


class Traffic:
    """Requests per service and per whole second, and TCP connections per local address."""

    def __init__(self) -> None:
        self.per_second: dict[str, Counter[int]] = defaultdict(Counter)
        self.connections: Counter[str] = Counter()
        self._lock = threading.Lock()

    def request(self, service: str) -> None:
        with self._lock:
            self.per_second[service][int(time.time())] += 1

    def peak(self, service: str) -> int:
        counts = self.per_second.get(service)
        return max(counts.values()) if counts else 0

    def total(self, service: str) -> int:
        return sum(self.per_second.get(service, Counter()).values())

    def mean_rate(self, service: str) -> float:
        counts = self.per_second.get(service)
        if not counts:
            return 0.0
        return sum(counts.values()) / (max(counts) - min(counts) + 1)


class SandboxHost:
    """One uvicorn server for every sandbox: the local address of a request picks the app."""

    def __init__(self, apps: dict[str, tuple[str, Any]]) -> None:
        self.apps = apps  # local address → (service, ASGI app)
        self.traffic = Traffic()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        service, app = self.apps[scope["server"][0]]
        self.traffic.request(service)
        await app(scope, receive, send)

    def start(self) -> SandboxHost:
        probe = socket.socket()
        probe.bind((MYDSO_HOST, 0))
        self.port = probe.getsockname()[1]
        probe.close()
        sockets = []
        for address in self.apps:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, self.port))
            sock.listen(256)
            sockets.append(sock)
        host = self
        from uvicorn.protocols.http.h11_impl import H11Protocol

        class Counting(H11Protocol):
            def connection_made(self, transport: Any) -> None:
                host.traffic.connections[transport.get_extra_info("sockname")[0]] += 1
                super().connection_made(transport)

        config = uvicorn.Config(
            self, http=Counting, lifespan="off", log_level="warning", access_log=False, timeout_keep_alive=60
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve(sockets)), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox host did not start")
            time.sleep(0.01)
        return self

    def url(self, address: str) -> str:
        return f"http://{address}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


class FleetWorld:
    def __init__(
        self,
        folder: Path,
        fleet_db: Any,
        *,
        tenants: int = 20,
        debtors: int = 12,
        invoices: int = 80,
        same_data: bool = False,
        page_size: int = 1000,
    ) -> None:
        self.folder = folder
        self.db = fleet_db
        self.names = [f"t{i:03d}" for i in range(tenants)]
        self.passwords = {name: secrets.token_urlsafe(12) for name in self.names}
        self.dso = MyDsoSandbox(folder / "mydso.sqlite3", accounts=self.passwords, today=TODAY)
        self.dyn: dict[str, DynaccountSandbox] = {}
        template = None
        for i, name in enumerate(self.names):
            path = folder / f"dyn-{name}.sqlite3"
            if same_data:  # seed once, copy: a big fleet of equal companies is set up in seconds
                if template is None:
                    template = folder / "dyn-template.sqlite3"
                    with DynaccountSandbox(
                        template, today=TODAY
                    ) as seeded:  # closed: nothing left in its WAL
                        seeded.seed(debtors=debtors, invoices=invoices, seed=1)
                shutil.copyfile(template, path)
            credentials = Credentials(600_000 + i, secrets.token_hex(20), secrets.token_hex(20))
            self.dyn[name] = DynaccountSandbox(path, today=TODAY, credentials=credentials)
            if not same_data:
                self.dyn[name].seed(debtors=debtors, invoices=invoices, seed=i + 1)
        apps = {MYDSO_HOST: ("mydso", self.dso.app)}
        apps.update({dynaccount_host(i): ("dynaccount", self.dyn[n].app) for i, n in enumerate(self.names)})
        self.host = SandboxHost(apps).start()
        self.keys = Keyring.new_key()
        self.registry = TenantRegistry(fleet_db, Keyring([self.keys]))
        for i, name in enumerate(self.names):
            self.registry.add(name, self.config_text(i, page_size), self.secrets(name))
        self.tenants = {t.name: t for t in self.registry.list()}
        self.workers: list[subprocess.Popen[bytes]] = []
        self.today = TODAY

    # --- the fleet's side ---------------------------------------------------------------------------------
    def config_text(self, index: int, page_size: int) -> str:
        name = self.names[index]
        return textwrap.dedent(
            f"""\
            [dynaccount]
            api_id = {self.dyn[name].credentials.api_id}
            base_url = "{self.host.url(dynaccount_host(index))}"
            page_size = {page_size}
            retries = 3

            [mydso]
            base_url = "{self.host.url(MYDSO_HOST)}"
            login = "{name}"
            """
        )

    def secrets(self, name: str) -> dict[str, Secret]:
        cred = self.dyn[name].credentials
        return {
            "dynaccount_api_key": Secret(cred.api_key),
            "dynaccount_api_secret": Secret(cred.api_secret),
            "mydso_password": Secret(self.passwords[name]),
        }

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "DSOBRIDGE_FLEET_DATABASE_URL": self.db.url,
            "DSOBRIDGE_FLEET_SCHEMA": self.db.schema,
            "DSOBRIDGE_FLEET_KEYS": self.keys,
            "DSOBRIDGE_FLEET_HEARTBEAT": "1",
            "DSOBRIDGE_FLEET_STALLED_AFTER": "4",
            **extra,
        }

    def settings(self) -> FleetSettings:
        return FleetSettings(self.db.url, schema=self.db.schema, heartbeat=1, stalled_after=4)

    def start_worker(self, concurrency: int = 2, log: Path | None = None) -> subprocess.Popen[bytes]:
        out = open(log or self.folder / f"worker-{len(self.workers)}.log", "ab")  # noqa: SIM115
        worker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from dsobridge.cli import main; main()",
                "-v",
                "fleet",
                "worker",
                "--concurrency",
                str(concurrency),
                "--today",
                self.today.isoformat(),
            ],
            env=self.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        self.workers.append(worker)
        return worker

    def worker_cpu_seconds(self) -> float:
        """CPU time (user + system) the live worker processes used so far (Linux ``/proc``)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for worker in self.workers:
            try:
                fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self.workers = []

    def enqueue_all(self, mode: str, reason: str) -> None:
        queue = FleetQueue(self.db, self.settings())
        with queue.open():
            for tenant in self.tenants.values():
                queue.enqueue_sync(tenant, mode, reason)

    def wait_until(self, done: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.describe()}")
            if self.workers and all(w.poll() is not None for w in self.workers):
                raise AssertionError(f"every worker exited while waiting for {what}: {self.describe()}")
            time.sleep(0.25)

    def successes(self, mode: str, since_run: int = 0) -> dict[str, int]:
        """Tenant → id of its newest successful run of ``mode`` after ``since_run``."""
        with self.db.pool.connection() as conn:
            rows = conn.execute(
                "SELECT t.name, max(r.id) FROM runs r JOIN tenants t ON t.id = r.tenant_id"
                " WHERE r.mode = %s AND r.status = 'success' AND r.id > %s GROUP BY t.name",
                (mode, since_run),
            ).fetchall()
        return dict(rows)

    def describe(self) -> str:
        return (
            "; ".join(
                f"{s.tenant.name}: {s.last_run.mode} {s.last_run.status} {s.last_run.error or ''}".strip()
                for s in fleet_overview(self.db)
                if s.last_run is not None and s.last_run.status != "success"
            )
            or "no failing tenant"
        )

    # --- the two ledgers ------------------------------------------------------------------------------------
    def mydso_ledger(self, name: str) -> dict[str, Decimal]:
        url = f"{self.host.url(MYDSO_HOST)}/ledger/items"
        with httpx2.Client(auth=httpx2.BasicAuth(name, self.passwords[name]), timeout=60) as http:
            response = http.get(url, params={"status": "open"})
        assert response.status_code == 200, response.text
        body = response.json()
        rows = body["items"] if isinstance(body, dict) else body
        return {r["item_key"]: Decimal(r["amount_open"]) for r in rows}

    def dynaccount_open(self, name: str) -> dict[str, Decimal]:
        from dsobridge.sync.delivery import Endpoints
        from dsobridge.sync.extract import Extractor
        from dsobridge.sync.openitems import open_items

        config = self.registry.config(self.tenants[name])
        with Endpoints(config) as ends:
            ex = Extractor(ends.source)
            return {
                i.unique_key: i.remaining
                for i in open_items(
                    matches=ex.open_matches(),
                    invoices=ex.open_invoices(),
                    creditnotes=ex.open_creditnotes(),
                    payments=ex.open_payments(),
                )
            }

    def advance(self, days: int) -> None:
        for i, sandbox in enumerate(self.dyn.values()):
            sandbox.advance(days, seed=100 + i)
        self.today = self.today + timedelta(days=days)
        self.dso.today = self.today

    def close(self) -> None:
        self.stop_workers()
        self.host.stop()
        for sandbox in self.dyn.values():
            sandbox.close()
        self.dso.close()
