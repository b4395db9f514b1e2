"""Global limits per service: a shared rate (reservations in PostgreSQL) and shared in-flight slots."""

from __future__ import annotations

import time
from itertools import pairwise

import httpx2
import pytest

from dsobridge.fleet import SharedLimits, read_limits, set_limit
from dsobridge.fleet.limits import LimitError


def reserve(db, service: str) -> float:
    """The moment (database clock, epoch seconds) the request may go."""
    with db.pool.connection() as conn:
        wait, now = conn.execute(
            "SELECT fleet_reserve(%s), extract(epoch FROM clock_timestamp())", (service,)
        ).fetchone()
    return float(now) + float(wait)


def test_defaults_are_conservative_and_can_be_changed(fleet_db):
    assert {(s.service, s.rate, s.concurrency) for s in read_limits(fleet_db).values()} == {
        ("dynaccount", 10.0, 4),
        ("mydso", 10.0, 4),
    }
    assert set_limit(fleet_db, "mydso", rate=2.5).rate == 2.5
    with pytest.raises(LimitError):
        set_limit(fleet_db, "ftp", rate=1)
    with pytest.raises(LimitError):
        set_limit(fleet_db, "mydso", concurrency=0)


def test_each_request_reserves_the_next_moment_one_interval_later(fleet_db):
    set_limit(fleet_db, "dynaccount", rate=2)  # one request every 500 ms: six reservations come faster
    moments = [reserve(fleet_db, "dynaccount") for _ in range(6)]
    gaps = [b - a for a, b in pairwise(moments)]
    assert all(abs(gap - 0.5) < 0.01 for gap in gaps), gaps  # spaced exactly by the interval
    assert reserve(fleet_db, "mydso") < moments[1]  # the other service is not held back


def test_slots_are_shared_between_processes_and_freed_with_a_session(fleet_db):
    set_limit(fleet_db, "mydso", rate=1000, concurrency=2)
    one, two = SharedLimits(fleet_db), SharedLimits(fleet_db)
    try:
        first, second = one.acquire("mydso"), one.acquire("mydso")
        assert first != second and one.counters["mydso"].in_flight == 2
        assert two._take_slot("mydso") is None  # both slots of the fleet are in use
        assert two._take_slot("dynaccount") is not None  # another service, other slots
        one.release(first)
        assert two._take_slot("mydso") is not None
        assert two._take_slot("mydso") is None
        one.close()  # a worker that dies: its session's slot locks go with it (as its backend exits)
        deadline = time.monotonic() + 10
        while (slot := two._take_slot("mydso")) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert slot is not None
    finally:
        one.close()
        two.close()


def test_the_transport_holds_a_slot_until_the_response_is_closed(fleet_db):
    set_limit(fleet_db, "dynaccount", rate=1000, concurrency=1)
    limits = SharedLimits(fleet_db)
    other = SharedLimits(fleet_db)
    seen = []

    def answer(request):
        seen.append(other._take_slot("dynaccount"))  # while this request is in flight
        if request.url.path == "/boom":
            raise httpx2.ConnectError("refused")
        return httpx2.Response(200, json={"ok": True})

    transport = limits.transport("dynaccount", "http://127.0.0.1:1")
    transport.inner = httpx2.MockTransport(answer)
    try:
        with httpx2.Client(transport=transport, base_url="http://127.0.0.1:1") as client:
            assert client.get("/a").json() == {"ok": True}
            assert limits.counters["dynaccount"].in_flight == 0
            with pytest.raises(httpx2.ConnectError):
                client.get("/boom")
            assert limits.counters["dynaccount"].in_flight == 0
        assert seen == [None, None] and limits.counters["dynaccount"].requests == 2
        assert other._take_slot("dynaccount") is not None  # given back
    finally:
        limits.close()
        other.close()
