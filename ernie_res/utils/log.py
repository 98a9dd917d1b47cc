"""Run logging: the ``ernie_res`` logger writes to standard error and to the run's log file.

Standard output carries results only (predictions, metrics), so ``tools/infer.py ... >
pred.jsonl`` stays pure JSON lines whatever is logged. The handlers added here are marked as
ours; configuring the logger again replaces only them, never a handler the user attached.
"""
import contextlib
import logging
import sys
from pathlib import Path

NAME = "ernie_res"
FORMAT = "[%(asctime)s] %(levelname)s %(message)s"
_OURS = "_ernie_res_handler"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (pytest swaps it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _mark(handler):
    setattr(handler, _OURS, True)
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))
    return handler


def get_logger(rank=0):
    """The ``ernie_res`` logger, printing to standard error (INFO on rank 0, WARNING elsewhere).

    Idempotent: the console handler is added once; handlers of other owners are left alone.
    """
    logger = logging.getLogger(NAME)
    logger.setLevel(logging.INFO if rank == 0 else logging.WARNING)
    logger.propagate = False
    if not any(getattr(h, _OURS, False) and isinstance(h, _StderrHandler)
               for h in logger.handlers):
        logger.addHandler(_mark(_StderrHandler()))
    return logger


@contextlib.contextmanager
def log_to_file(path, rank=0):
    """Also append the ``ernie_res`` log to ``path`` (rank 0 only) while the block runs."""
    logger = get_logger(rank)
    handler = None
    if path is not None and rank == 0:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = _mark(logging.FileHandler(path, encoding="utf-8"))
        logger.addHandler(handler)
    try:
        yield logger
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            handler.close()
