"""Run a model over features and score it with the task's metric (no task names here).

``task`` is any object with the task protocol's ``collate``, ``build_metric`` and
``update_metric`` (``ernie_res/tasks/base.py``).

A long evaluation is not silent: every ``log_every`` seconds (30 by default) the ``ernie_res``
logger gets a line with the batches and examples done, the throughput, the elapsed time and an
ETA, and a last line once it is over. An evaluation shorter than that logs nothing (the
evaluations during training are usually short), so the training log is unchanged for them.
The VAE's final importance-sampled NLL (``tools/eval.py`` on GEN) is the case this is for.
"""
import contextlib
import logging
import math
import time

import paddle

from ernie_res.data.batching import in_order, to_numpy, to_tensors
from ernie_res.utils.log import NAME
from ernie_res.utils.progress import format_seconds

#: seconds between progress lines (module attributes so that tests can replace them)
LOG_EVERY = 30.0
_clock = time.monotonic


def evaluate(model, task, features, batch_size, amp=None, log_every=None):
    """Return ``(metrics dict, metric object)`` for ``model`` on ``features``.

    ``metrics["loss"]`` is the example-weighted mean loss when the batches carry labels. The
    model is left in the mode it was in. ``log_every``: seconds between progress lines (None:
    ``LOG_EVERY``; 0: after every batch).
    """
    log_every = LOG_EVERY if log_every is None else log_every
    logger = logging.getLogger(NAME)
    n_batches = math.ceil(len(features) / batch_size) if features else 0
    was_training = model.training
    model.eval()
    metric = task.build_metric()
    total_loss, n_loss, n_done = 0.0, 0, 0
    start = last = now = _clock()
    logged = False
    with paddle.no_grad():
        for b, batch in enumerate(in_order(features, batch_size, task.collate), 1):
            with amp.autocast() if amp is not None else contextlib.nullcontext():
                out = model(**to_tensors(batch))
            n = len(batch["_index"])
            if "loss" in out:
                total_loss += float(out["loss"]) * n
                n_loss += n
            task.update_metric(metric, to_numpy(out), batch)
            n_done += n
            now = _clock()
            if b < n_batches and now - last >= log_every:
                elapsed = now - start
                logger.info(f"evaluating: {b}/{n_batches} batches ({n_done}/{len(features)} "
                            f"examples, {n_done / max(elapsed, 1e-9):.1f} examples/s), "
                            f"elapsed {format_seconds(elapsed)}, "
                            f"eta {format_seconds(elapsed / b * (n_batches - b))}")
                last, logged = now, True
    if logged:
        logger.info(f"evaluated {n_done} examples in {n_batches} batches in "
                    f"{format_seconds(now - start)}")
    if was_training:
        model.train()
    metrics = dict(metric.accumulate())
    if n_loss:
        metrics["loss"] = total_loss / n_loss
    return metrics, metric
