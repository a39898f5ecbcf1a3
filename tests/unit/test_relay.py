"""The background relay loop: busy steps run back to back, idle ones wait, failures do not end it.

Each step function stops the relay itself after a few calls, so ``run()`` returns in the test's own
(green) thread; a relay that waits too long fails its test on an eventlet timeout instead of hanging.
"""
import threading
import time

import eventlet
import pytest

from shared.platform.store import Relay

pytestmark = pytest.mark.timeout(20)  # backstop for a relay that spins without ever yielding
LONG = 30.0  # an idle wait this long trips the eventlet timeout, so a test that finishes did not wait it


class Steps:
    """A step that answers ``results`` in turn (raising exceptions) and stops the relay after the last."""

    def __init__(self, *results):
        self.results, self.calls, self.relay = list(results), [], None

    def __call__(self):
        self.calls.append(time.monotonic())
        result = self.results[len(self.calls) - 1]
        if len(self.calls) == len(self.results):
            self.relay.stop()
        if isinstance(result, Exception):
            raise result
        return result


def relay_running(steps, idle_interval, step=None):
    """Run a relay over ``step`` (default: ``steps`` itself) until it stops; return the time it took."""
    steps.relay = Relay("test", step or steps, idle_interval=idle_interval)
    started = time.monotonic()
    with eventlet.Timeout(5):
        steps.relay.run()
    return time.monotonic() - started


def test_stop_during_a_step_ends_run_after_that_step():
    steps = Steps(5)

    relay_running(steps, idle_interval=LONG)

    assert len(steps.calls) == 1


def test_a_busy_step_is_called_again_without_waiting():
    steps = Steps(3, 2, 1, 0)

    elapsed = relay_running(steps, idle_interval=LONG)

    assert len(steps.calls) == 4
    assert elapsed < 5


def test_an_idle_step_waits_the_idle_interval_before_the_next_call():
    steps = Steps(0, 0, 0)

    relay_running(steps, idle_interval=0.05)

    gaps = [later - earlier for earlier, later in zip(steps.calls, steps.calls[1:])]
    assert len(gaps) == 2 and all(gap >= 0.04 for gap in gaps)


def test_a_step_that_raises_does_not_end_the_relay():
    steps = Steps(RuntimeError("database down"), ConnectionError("broker down"), 1)

    relay_running(steps, idle_interval=0.01)

    assert len(steps.calls) == 3


def test_a_step_that_raises_is_treated_as_idle():
    steps = Steps(RuntimeError("database down"), 0)

    relay_running(steps, idle_interval=0.05)

    assert steps.calls[1] - steps.calls[0] >= 0.04


def test_a_wake_during_an_idle_step_is_not_lost():
    steps = Steps(0, 0)

    def step_that_wakes():
        steps.relay.wake()  # as a commit would, while the step is still reading
        return steps()

    elapsed = relay_running(steps, idle_interval=LONG, step=step_that_wakes)

    assert len(steps.calls) == 2
    assert elapsed < 5


def test_stop_from_another_thread_ends_an_idle_wait():
    steps = Steps(0, 0)  # never reaches its own stop: the other thread stops the relay first
    first_step_done = threading.Event()

    def step():
        first_step_done.set()
        return steps()

    def stop_after_first_step():
        first_step_done.wait()
        steps.relay.stop()

    stopper = threading.Thread(target=stop_after_first_step)
    stopper.start()
    elapsed = relay_running(steps, idle_interval=LONG, step=step)
    stopper.join()

    assert len(steps.calls) == 1
    assert elapsed < 5


def test_a_step_short_of_its_batch_found_all_that_was_due_and_waits():
    steps = Steps(5, 2, 0)  # a full batch, then less than one: the second step is followed by a wait
    steps.relay = Relay("test", steps, idle_interval=0.05, batch=5)
    with eventlet.Timeout(5):
        steps.relay.run()
    first_gap, second_gap = (later - earlier for earlier, later in zip(steps.calls, steps.calls[1:]))
    assert first_gap < 0.04 <= second_gap


def test_a_wake_sets_one_runner_going_and_one_that_finds_a_full_batch_calls_the_next_in():
    from tests.harness import wait_until

    calls, answers = [], iter([0, 0, 0, 1, 4, 0, 0])  # three idle first steps; then a short one, a full one
    relay = Relay("test", lambda: calls.append(eventlet.getcurrent()) or next(answers, 0), idle_interval=LONG,
                  runners=3, batch=4)
    runners = [eventlet.spawn(relay.run, n) for n in range(3)]
    try:
        wait_until(lambda: len(calls) == 3, timeout=5, what="each runner's first step")
        relay.wake()  # one commit: one runner, which finds less than a batch
        wait_until(lambda: len(calls) == 4, timeout=5, what="the woken runner's step")
        eventlet.sleep(0)
        assert len(calls) == 4
        relay.wake()  # the next runner in turn finds a full batch: it steps again and calls the next in
        wait_until(lambda: len(calls) == 7, timeout=5, what="the backlog's steps")
        assert len(set(calls[4:])) == 2  # the runner with the backlog, and the one it called in
    finally:
        relay.stop()
        for runner in runners:
            runner.wait()
