"""Progress with throughput and ETA, for training steps and for long loops over data."""
import time


def format_seconds(seconds):
    """``75.2`` -> ``"01:15"``; an hour or more -> ``"1:02:03"``."""
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """Tracks steps and examples since the start (or the resume point) for rate and ETA."""

    def __init__(self, total_steps, start_step=0):
        self.total = total_steps
        self.start_step = start_step
        self.t0 = time.time()
        self.window_t = self.t0
        self.window_examples = 0

    def add_examples(self, n):
        self.window_examples += n

    def rates(self, step):
        """Return ``(examples/s over the last window, elapsed s, eta s)`` and reset the window."""
        now = time.time()
        rate = self.window_examples / max(now - self.window_t, 1e-9)
        self.window_t, self.window_examples = now, 0
        elapsed = now - self.t0
        done = step - self.start_step
        eta = elapsed / done * (self.total - step) if done > 0 else float("nan")
        return rate, elapsed, eta


def progress_iter(items, logger, what, every=2000):
    """Yield ``items`` and log ``what: i/N (rate/s, ETA)`` every ``every`` items.

    ``logger`` may be None (nothing is logged).
    """
    total = len(items)
    t0 = time.time()
    for i, item in enumerate(items, 1):
        yield item
        if logger is not None and i % every == 0 and i < total:
            el = max(time.time() - t0, 1e-9)      # a coarse clock may not have ticked yet
            logger.info(f"{what}: {i}/{total} ({i / el:.0f}/s, "
                        f"eta {format_seconds(el / i * (total - i))})")
