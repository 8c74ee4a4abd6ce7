"""core.work_slots: at most `size` holders per process, at most `queue` waiting, the
rest refused at once with a 503 (so expensive requests never take every thread)."""

from __future__ import annotations

import threading
import time

import pytest

from core.work_slots import Busy, Slots


def test_a_free_slot_is_taken_at_once_and_given_back():
    slots = Slots("routing", 1, 0, 0)
    with slots.hold():
        assert slots.running == 1
    assert slots.running == 0
    with slots.hold():  # given back even after an exception inside
        pass
    with pytest.raises(RuntimeError), slots.hold():
        raise RuntimeError("the view failed")
    assert slots.running == 0 and slots.waiting == 0
    with slots.hold():
        pass


def test_beyond_the_queue_a_request_is_refused_at_once_with_a_503():
    slots = Slots("routing", 1, 1, 30)
    inside, release = threading.Event(), threading.Event()
    outcomes: list[str] = []

    def holder() -> None:
        with slots.hold():
            inside.set()
            release.wait(30)

    def waiter() -> None:
        with slots.hold():
            outcomes.append("waited, then ran")

    first = threading.Thread(target=holder)
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=waiter)
    second.start()
    deadline = time.monotonic() + 10
    while slots.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slots.waiting == 1
    # The slot is held and the one place in the queue is taken: no wait at all.
    with pytest.raises(Busy) as refused, slots.hold():
        pass
    error = refused.value
    assert error.status == 503 and error.code == "busy" and error.retry_after >= 1
    assert "queue is full" in error.detail
    release.set()
    first.join(10)
    second.join(10)
    assert outcomes == ["waited, then ran"]
    assert slots.running == 0 and slots.waiting == 0


def test_a_wait_is_bounded_in_time():
    slots = Slots("routing", 1, 4, 0.2)
    release = threading.Event()
    inside = threading.Event()

    def holder() -> None:
        with slots.hold():
            inside.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    assert inside.wait(10)
    with pytest.raises(Busy) as refused, slots.hold():
        pass
    assert "no slot within 0.2 s" in refused.value.detail
    assert slots.waiting == 0  # the waiter left the queue
    release.set()
    thread.join(10)


def test_size_counts_concurrent_holders():
    slots = Slots("routing", 2, 0, 0)
    with slots.hold(), slots.hold():
        assert slots.running == 2
        with pytest.raises(Busy), slots.hold():
            pass


def test_nonsense_sizes_are_refused():
    for args in ((0, 1, 1), (1, -1, 1), (1, 1, -1)):
        with pytest.raises(ValueError):
            Slots("routing", *args)


def test_refusals_are_logged_counted_not_one_line_each(caplog, monkeypatch):
    # bench_load's 16 routing clients drew 186 refusals in 20 s, each an
    # "ERROR Service Unavailable" line from Django's request log.
    import logging

    from core import work_slots
    from core.api_errors import drf_exception_handler

    slots = Slots("routing", 1, 0, 0)
    clock = [1000.0]
    monkeypatch.setattr(work_slots, "_clock", lambda: clock[0])
    with caplog.at_level(logging.INFO), slots.hold():
        for _ in range(5):
            with pytest.raises(Busy), slots.hold():
                pass
        clock[0] += work_slots.REFUSALS_LOG_EVERY_S
        with pytest.raises(Busy) as refused, slots.hold():
            pass
    lines = [r.getMessage() for r in caplog.records if r.name == "core.work_slots"]
    assert len(lines) == 2, lines
    assert "1 request(s) refused" in lines[0] and "5 request(s)" in lines[1]
    response = drf_exception_handler(refused.value, {})
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert response._has_been_logged  # Django's request log leaves it out
