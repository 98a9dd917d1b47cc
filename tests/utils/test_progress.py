"""Progress meters: time formatting, rates and ETA, progress_iter's log lines."""
import math

import pytest

from ernie_res.utils import progress
from ernie_res.utils.progress import Progress, format_seconds, progress_iter


class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(progress.time, "time", c)
    return c


class Lines:
    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)


@pytest.mark.parametrize("seconds, text", [(0, "00:00"), (75.2, "01:15"), (59.99, "00:59"),
                                           (3599, "59:59"), (3600, "1:00:00"),
                                           (3723, "1:02:03"), (-5, "00:00"),
                                           (100 * 3600 + 61, "100:01:01")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_rates_elapsed_and_eta(clock):
    p = Progress(total_steps=10)
    p.add_examples(8)
    p.add_examples(12)
    clock.t += 4.0
    rate, elapsed, eta = p.rates(2)
    assert (rate, elapsed, eta) == (5.0, 4.0, 16.0)      # 20 examples in 4 s; 2 s per step
    clock.t += 1.0                                        # a new window: nothing added
    rate, elapsed, eta = p.rates(4)
    assert (rate, elapsed, eta) == (0.0, 5.0, 7.5)


def test_rates_after_a_resume_and_before_any_step(clock):
    p = Progress(total_steps=10, start_step=6)
    clock.t += 2.0
    rate, elapsed, eta = p.rates(6)
    assert rate == 0.0 and elapsed == 2.0 and math.isnan(eta)
    clock.t += 2.0
    assert p.rates(8)[2] == pytest.approx(4.0)           # 2 steps in 4 s, 2 to go


def test_progress_iter_logs_every_n_items_but_not_at_the_end(clock):
    log = Lines()
    items = list(range(7))
    got = []
    for x in progress_iter(items, log, "tokenising", every=3):
        clock.t += 0.5
        got.append(x)
    assert got == items
    assert log.lines == ["tokenising: 3/7 (2/s, eta 00:02)", "tokenising: 6/7 (2/s, eta 00:00)"]
    log.lines.clear()
    for _ in progress_iter(list(range(6)), log, "x", every=3):
        clock.t += 1.0
    assert log.lines == ["x: 3/6 (1/s, eta 00:03)"]          # 6/6 is the end: not logged


def test_progress_iter_survives_a_clock_that_did_not_tick(clock):
    log = Lines()
    assert list(progress_iter(list(range(4)), log, "fast", every=2)) == [0, 1, 2, 3]
    assert len(log.lines) == 1 and log.lines[0].startswith("fast: 2/4 (")


def test_progress_iter_without_a_logger():
    assert list(progress_iter([1, 2, 3], None, "quiet", every=1)) == [1, 2, 3]
    assert list(progress_iter([], None, "empty")) == []
