"""The asynchronous path (``/apiPutFiles/``) and the FTP drop share one worker that runs jobs in order."""

from __future__ import annotations

import logging
import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from dsobridge.sandbox.mydso.options import ImportOptions

__all__ = ["Job", "JobQueue"]

_log = logging.getLogger("dsobridge.sandbox.mydso.jobs")


@dataclass
class Job:
    id: str
    account: str
    kind: str
    options: ImportOptions
    channel: str
    open_body: Callable[[], IO[bytes] | None]  # None: the file went away before its turn
    on_done: Callable[[Job], None] | None = None
    status: str = "queued"  # queued | running | done | failed
    report: dict[str, Any] | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def public(self) -> dict[str, Any]:
        return {"job_id": self.id, "file_type": self.kind, "status": self.status, "report": self.report}


class JobQueue:
    """FIFO of import jobs; ``run(job) -> report`` does the work (the sandbox's per-account import)."""

    def __init__(self, run: Callable[[Job, IO[bytes]], dict[str, Any]]) -> None:
        self._run = run
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(
        self,
        account: str,
        kind: str,
        options: ImportOptions,
        open_body: Callable[[], IO[bytes] | None],
        *,
        channel: str,
        on_done: Callable[[Job], None] | None = None,
    ) -> Job:
        job = Job(secrets.token_hex(12), account, kind, options, channel, open_body, on_done)
        with self._lock:
            self._jobs[job.id] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="mydso-import-jobs", daemon=True)
                self._thread.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            job.status = "running"
            try:
                body = job.open_body()
                if body is None:
                    job.status = "failed"
                    job.report = None
                else:
                    with body:
                        job.report = self._run(job, body)
                    job.status = "done" if job.report.get("success") else "failed"
            except Exception as exc:  # a bug must not kill the worker; the job says what happened
                _log.exception("import job %s (%s, %s) failed", job.id, job.kind, job.channel)
                job.status = "failed"
                job.report = {"success": False, "error_code": "INTERNAL_ERROR", "message": type(exc).__name__}
            try:
                if job.on_done is not None:
                    job.on_done(job)
            except Exception:
                _log.exception("import job %s: writing its outcome failed", job.id)
            finally:
                job.finished.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every job submitted so far has finished (tests and the CLI use this)."""
        with self._lock:
            pending = [job for job in self._jobs.values() if not job.finished.is_set()]
        return all(job.finished.wait(timeout) for job in pending)

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)
