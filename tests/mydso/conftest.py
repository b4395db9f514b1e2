from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dsobridge.mydso import Item


def make_item(n: int = 1, **changes: object) -> Item:
    values: dict[str, object] = {
        "client_code": "C0001",
        "item_number": f"{n:08d}",
        "item_type": "FAC",
        "item_date_issue": date(2025, 3, 13),
        "item_date_due": date(2025, 3, 20),
        "item_amount_initial_inc_tax": Decimal("6580.10"),
        "item_currency": "DKK",
    }
    values.update(changes)
    return Item(**values)  # type: ignore[arg-type]


@pytest.fixture
def item_factory():
    return make_item


# --- a small FTP drop server: pyftpdlib on 127.0.0.1, port 0 ----------------------------------------

import csv  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402

from pyftpdlib.authorizers import DummyAuthorizer  # noqa: E402
from pyftpdlib.handlers import FTPHandler  # noqa: E402
from pyftpdlib.servers import FTPServer  # noqa: E402

KIND_PREFIXES = ("clients", "items", "contacts", "users")


class DropServer:
    """What the My DSO Manager drop does (spec §1.3): a file named like a kind is processed, removed, and
    ``<name>.report.json`` appears. ``mode``: "ok", "reject" (CSV_BAD_SYNTAX) or "silent" (no report)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.mode = "ok"
        self.delay = 0.0
        self.processed: list[tuple[str, bytes]] = []
        self.seen_names: list[str] = []

    def process(self, path: str) -> None:
        name = os.path.basename(path)
        self.seen_names.append(name)
        if not name.startswith(KIND_PREFIXES) or name.endswith((".part", ".report.json")):
            return
        data = open(path, "rb").read()  # noqa: SIM115
        os.remove(path)
        self.processed.append((name, data))
        if self.mode == "silent":
            return
        tokens = name.split(".")
        encoding = next((t for t in tokens[1:] if t not in ("stock", "csv")), "utf-8")
        rows = list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=";"))[1:]
        if self.mode == "reject":
            report = {"success": False, "error_code": "CSV_BAD_SYNTAX", "message": "bad header"}
        else:
            report = {
                "success": True,
                "error_code": None,
                "file_type": name.split("_")[0],
                "mode": "STOCK" if "stock" in tokens else "DELTA",
                "rows": len(rows),
                "added": len(rows),
                "updated": 0,
                "unchanged": 0,
                "cleared": 0,
                "rejected": 0,
                "rejected_rows": [],
            }

        def write() -> None:
            with open(path + ".report.json", "w") as fh:
                json.dump(report, fh)

        if self.delay:
            threading.Timer(self.delay, write).start()
        else:
            write()


@pytest.fixture
def ftp_drop(tmp_path):
    drop = DropServer(str(tmp_path))

    class Handler(FTPHandler):
        def on_file_received(self, file):
            drop.process(file)

        def ftp_RNTO(self, path):
            result = super().ftp_RNTO(path)
            drop.process(path)
            return result

    authorizer = DummyAuthorizer()
    authorizer.add_user("drop-user", "drop-pw", str(tmp_path), perm="elradfmwMT")
    Handler.authorizer = authorizer
    Handler.banner = "test drop"
    Handler.auth_failed_timeout = 0.01
    server = FTPServer(("127.0.0.1", 0), Handler)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            server.serve_forever(timeout=0.02, blocking=False, handle_exit=False)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    drop.port = server.address[1]
    try:
        yield drop
    finally:
        stop.set()
        thread.join(5)
        server.close_all()
