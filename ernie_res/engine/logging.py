"""Console + file logging for runs, and a progress meter with throughput and ETA."""
import logging
import sys
import time
from pathlib import Path

FORMAT = "[%(asctime)s] %(levelname)s %(message)s"


def get_logger(log_file=None, rank=0, name="ernie_res"):
    """Logger that prints on rank 0 only and also appends to ``log_file`` when given."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO if rank == 0 else logging.WARNING)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    fmt = logging.Formatter(FORMAT, datefmt="%H:%M:%S")
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(fmt)
    logger.addHandler(console)
    if log_file is not None and rank == 0:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setFormatter(fmt)
        logger.addHandler(fh)
    return logger


def format_seconds(seconds):
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
    """Yield ``items`` and log ``what: i/N (rate/s, ETA)`` every ``every`` items."""
    total = len(items)
    t0 = time.time()
    for i, item in enumerate(items, 1):
        yield item
        if i % every == 0 and i < total:
            el = time.time() - t0
            logger.info(f"{what}: {i}/{total} ({i / el:.0f}/s, eta {format_seconds(el / i * (total - i))})")
