"""What becomes of a file that lands in the FTP drop: imported, refused with a report, or left alone.

The drop never fails open. A file is imported only when the transfer that wrote it completed (see
``ftp.UploadEnd`` for how a cut is told from an end) and it ends with a line break: plain FTP ends a file by
closing the connection, so a transfer cut short there looks complete, and a cut almost always falls inside a
line. A rename hands over the file as it is, so it is imported only when its last transfer completed. A
refused file under a final name is replaced by a ``<name>.report.json`` saying ``INCOMPLETE_UPLOAD``; under a
temporary name it is left as it is (no report: its name announces nothing).

While a file waits for its import or is being imported it is *busy*: an upload onto it, a rename from or onto
it and its deletion are refused (``550``), so nothing can change a file between its check and its import.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import IO, Any

from dsobridge.sandbox.mydso.importer import failure_report
from dsobridge.sandbox.mydso.jobs import Job, JobQueue
from dsobridge.sandbox.mydso.options import ImportOptions, kind_from_filename, options_from_filename
from dsobridge.sandbox.mydso.reader import ImportFailed

__all__ = ["DropUploads"]

_log = logging.getLogger("dsobridge.sandbox.mydso.ftp")

CUT_SHORT = (
    "the transfer did not complete (the connection was closed or reset before the end of the file, or the "
    "transfer was aborted); not imported: upload the whole file again"
)
NOT_RECEIVED = (
    "the file was not received by a completed upload (its transfer was cut short, or it did not come "
    "through FTP); not imported: upload it again"
)
NO_LINE_BREAK = (
    "the file does not end with a line break, so it may have been cut short (plain FTP ends a file by "
    "closing the connection); not imported: end the file with a line break and upload it again"
)


class DropUploads:
    """The drop's bookkeeping: which files were completely received, which are busy; imports and refusals.

    The FTP server calls ``started``/``ended``/``renamed``/``deleted`` from its one thread; imports run on
    ``jobs``' worker, which releases a busy file when its report is written.
    """

    def __init__(self, jobs: JobQueue) -> None:
        self._jobs = jobs
        self._completed: dict[str, bool] = {}  # path -> whether the last transfer into it completed
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def busy(self, path: str) -> bool:
        with self._lock:
            return path in self._busy

    def started(self, path: str) -> None:
        """``STOR``/``APPE`` opened ``path``: until its transfer completes, it is not a whole file."""
        self._completed[path] = False

    def ended(self, login: str, path: str, *, complete: bool) -> None:
        self._completed[path] = complete
        name = os.path.basename(path)
        if not complete:
            _log.warning("FTP upload of %s by %s ended before the end of the file; not imported", name, login)
        if kind_from_filename(name) is not None:
            self._consider(login, path, CUT_SHORT)

    def renamed(self, login: str, source: str, target: str) -> None:
        self._completed[target] = self._completed.pop(source, False)
        if os.path.isfile(target) and kind_from_filename(os.path.basename(target)) is not None:
            self._consider(login, target, NOT_RECEIVED)

    def deleted(self, path: str) -> None:
        self._completed.pop(path, None)

    def _consider(self, login: str, path: str, reason_if_incomplete: str) -> None:
        if not self._completed.get(path, False):
            self._refuse(path, reason_if_incomplete)
        elif not _ends_with_line_break(path):
            self._refuse(path, NO_LINE_BREAK)
        else:
            self._import(login, path)

    def _import(self, login: str, path: str) -> None:
        name = os.path.basename(path)
        kind = kind_from_filename(name)
        assert kind is not None
        try:
            options = options_from_filename(name)
        except ImportFailed as exc:
            self._conclude(path, failure_report(kind, None, exc))
            return
        self._completed.pop(path, None)
        with self._lock:
            self._busy.add(path)

        def open_body() -> IO[bytes] | None:
            try:
                return open(path, "rb")
            except FileNotFoundError:
                return None

        def on_done(job: Job) -> None:
            try:
                if job.report is not None:
                    self._conclude(path, job.report)
            finally:
                with self._lock:
                    self._busy.discard(path)

        self._jobs.submit(login, kind, options, open_body, channel="ftp", on_done=on_done)

    def _refuse(self, path: str, reason: str) -> None:
        name = os.path.basename(path)
        try:
            options: ImportOptions | None = options_from_filename(name)
        except ImportFailed:
            options = None
        error = ImportFailed("INCOMPLETE_UPLOAD", f"{name}: {reason}")
        self._completed.pop(path, None)
        self._conclude(path, failure_report(kind_from_filename(name) or "", options, error))

    def _conclude(self, path: str, report: dict[str, Any]) -> None:
        """The file is replaced by ``<name>.report.json`` (written atomically)."""
        target = Path(path + ".report.json")
        partial = target.with_name("." + target.name + ".writing")
        partial.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(partial, target)
        Path(path).unlink(missing_ok=True)


def _ends_with_line_break(path: str) -> bool:
    """The last character is CR or LF, in any encoding a CSV file can have: the NUL bytes of a UTF-16/32
    line break (``\\n\\0`` or ``\\0\\n``) are skipped."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return True  # empty: nothing was cut; the import answers CSV_EMPTY
        fh.seek(max(0, size - 4))
        return fh.read().rstrip(b"\x00").endswith((b"\n", b"\r"))
