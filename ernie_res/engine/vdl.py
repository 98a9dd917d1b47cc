"""VisualDL logging that works on this stack (visualdl 2.5.3, numpy >= 1.24).

Two upstream problems are worked around here rather than in every caller:

* ``LogWriter.add_pr_curve`` calls ``labels.astype(np.float)``, which NumPy removed in 1.24,
  so it raises ``AttributeError``. We compute the same bucketed TP/FP/TN/FN counts ourselves
  and write them with VisualDL's ``pr_curve_raw`` record.
* PaddleNLP's VisualDL callback passes booleans to ``add_hparams``, which VisualDL's protobuf
  rejects ("Expected an int, got a boolean"). ``flatten_hparams`` turns every value into a
  str, int or float first.

Only rank 0 writes; on other ranks every method is a no-op, so callers never branch on rank.
"""
import time
from pathlib import Path

import numpy as np


def flatten_hparams(tree, prefix=""):
    """``{"Train": {"amp": False}}`` -> ``{"Train.amp": "False"}`` (VisualDL-safe values)."""
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_hparams(value, name + "."))
        elif isinstance(value, bool) or value is None or isinstance(value, (list, tuple)):
            out[name] = str(value)
        elif isinstance(value, (int, float, str)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


def pr_counts(labels, scores, num_thresholds=127):
    """Bucketed PR-curve counts, the data behind a VisualDL PR curve.

    Args:
        labels (np.ndarray): ``[N]`` 0/1 ground truth for one class.
        scores (np.ndarray): ``[N]`` float probabilities in ``[0, 1]`` for that class.
        num_thresholds (int): thresholds ``i / (num_thresholds - 1)``.

    Returns:
        dict: lists ``tp, fp, tn, fn, precision, recall`` of length ``num_thresholds``, where
        entry ``i`` counts examples with ``score >= i / (num_thresholds - 1)`` as positive.
    """
    labels = np.asarray(labels, dtype=np.float64)
    # a non-finite score (a diverged model) counts as 0 rather than breaking the histogram
    scores = np.clip(np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0), 0.0, 1.0)
    buckets = np.floor(scores * (num_thresholds - 1)).astype(np.int64)        # shape: [N]
    tp_b = np.bincount(buckets, weights=labels, minlength=num_thresholds)      # shape: [K]
    fp_b = np.bincount(buckets, weights=1.0 - labels, minlength=num_thresholds)
    tp = np.cumsum(tp_b[::-1])[::-1]                                           # score >= t_i
    fp = np.cumsum(fp_b[::-1])[::-1]
    fn = tp[0] - tp
    tn = fp[0] - fp
    precision = tp / np.maximum(tp + fp, 1e-7)
    recall = tp / np.maximum(tp + fn, 1e-7)
    return {"tp": tp.astype(int).tolist(), "fp": fp.astype(int).tolist(),
            "tn": tn.astype(int).tolist(), "fn": fn.astype(int).tolist(),
            "precision": precision.tolist(), "recall": recall.tolist()}


class VDLWriter:
    """Thin wrapper over ``visualdl.LogWriter``; a no-op on ranks other than 0."""

    def __init__(self, logdir, enabled=True):
        self.enabled = enabled
        self._w = None
        if enabled:
            from visualdl import LogWriter

            self._w = LogWriter(logdir=str(logdir))

    def scalar(self, tag, value, step):
        if self._w is not None:
            self._w.add_scalar(tag, float(value), int(step))

    def scalars(self, prefix, values, step):
        for k, v in values.items():
            self.scalar(f"{prefix}/{k}", v, step)

    def hparams(self, config_dict, metric_tags):
        if self._w is not None:
            self._w.add_hparams(flatten_hparams(config_dict), list(metric_tags))

    def pr_curve(self, tag, labels, scores, step, num_thresholds=127):
        if self._w is None:
            return
        from visualdl.component.base_component import pr_curve_raw

        c = pr_counts(labels, scores, min(num_thresholds, 127))
        self._w._get_file_writer().add_record(pr_curve_raw(
            tag=tag, step=int(step), walltime=round(time.time() * 1000), **c))

    def image(self, tag, array, step):
        if self._w is not None:
            self._w.add_image(tag, array, int(step))

    def text(self, tag, text, step):
        if self._w is not None:
            self._w.add_text(tag, text, int(step))

    def histogram(self, tag, values, step, buckets=20):
        if self._w is not None:
            self._w.add_histogram(tag, np.asarray(values), int(step), buckets=buckets)

    def embeddings(self, tag, matrix, metadata):
        if self._w is not None:
            self._w.add_embeddings(tag, mat=np.asarray(matrix).tolist(),
                                   metadata=[str(m) for m in metadata])

    def flush(self):
        if self._w is not None:
            self._w.flush()

    def close(self):
        if self._w is not None:
            self._w.close()
            self._w = None


def read_scalars(logdir):
    """``{tag: [(step, value), ...]}`` for every scalar in a VisualDL log directory."""
    from visualdl import LogReader

    out = {}
    for f in sorted(Path(logdir).glob("vdlrecords.*.log")):
        reader = LogReader(file_path=str(f))
        for tag in reader.get_tags().get("scalar", []):
            out.setdefault(tag, []).extend((r.id, r.value) for r in reader.get_data("scalar", tag))
    return out
