"""Run a model over features and score it with the task's metric (no task names here).

``task`` is any object with the task protocol's ``collate``, ``build_metric`` and
``update_metric`` (``ernie_res/tasks/base.py``).
"""
import contextlib

import paddle

from ernie_res.data.batching import in_order, to_numpy, to_tensors


def evaluate(model, task, features, batch_size, amp=None):
    """Return ``(metrics dict, metric object)`` for ``model`` on ``features``.

    ``metrics["loss"]`` is the example-weighted mean loss when the batches carry labels. The
    model is left in the mode it was in.
    """
    was_training = model.training
    model.eval()
    metric = task.build_metric()
    total_loss, n_loss = 0.0, 0
    with paddle.no_grad():
        for batch in in_order(features, batch_size, task.collate):
            with amp.autocast() if amp is not None else contextlib.nullcontext():
                out = model(**to_tensors(batch))
            n = len(batch["_index"])
            if "loss" in out:
                total_loss += float(out["loss"]) * n
                n_loss += n
            task.update_metric(metric, to_numpy(out), batch)
    if was_training:
        model.train()
    metrics = dict(metric.accumulate())
    if n_loss:
        metrics["loss"] = total_loss / n_loss
    return metrics, metric
