"""The official SemEval-2010 Task 8 score (Hendrickx et al. 2010), computed exactly as
``semeval2010_task8_scorer-v1.2.pl`` computes it, plus the answer-file writer.

The official score is the scorer's evaluation (iii), "(9+1)-way evaluation with directionality
taken into account": for each of the 9 relations R (direction folded away)

* ``TP_R``   = examples whose gold label is R in some direction and whose predicted label is
  exactly the same label (relation *and* direction);
* ``pred_R`` = every prediction of R in either direction. The scorer counts the ones whose
  gold is R in the other direction in a separate ``xDIRx`` column and adds them back to the
  precision denominator ("P = TP / (proposed + xDIRx)"), so wrong-direction predictions are
  wrong and do count against precision;
* ``gold_R`` = examples whose gold label is R in either direction;
* ``P = 100 TP / pred_R`` (0 when no prediction), ``R = 100 TP / gold_R``,
  ``F1 = 2 P R / (P + R)`` (0 when ``P + R = 0``).

``macro_f1`` is the mean of the per-relation F1 values (not the F1 of the mean P and R) over the
relations that occur in the gold labels; a relation absent from the gold labels is not
averaged in even if it is predicted (its predictions still cost the gold relations their
recall), and ``Other`` is never averaged in. ``macro_p``/``macro_r`` are averaged the same way.
The scorer divides by zero when the key has no relation at all; we return 0.0 then.
``accuracy`` is the plain 19-way accuracy (the scorer's "(2*9+1)-way" accuracy). Arithmetic
follows the scorer step by step (percentages, summed in alphabetical relation order), so
results match its printed values to the last digit.

Every prediction is paired with a gold label, so there are no skipped examples (the scorer's
``skip`` column is always 0 here).
"""
import os

import numpy as np

from ernie_res.data.semeval import LABELS, OTHER, RELATIONS, read_key
from ernie_res.metrics.base import Metric

_INDEX = {label: i for i, label in enumerate(LABELS)}
# Column pairs of each relation in LABELS order: ((e1,e2) id, (e2,e1) id).
_REL_IDS = [(_INDEX[f"{rel}(e1,e2)"], _INDEX[f"{rel}(e2,e1)"]) for rel in RELATIONS]


def _to_ids(name, labels, fn="SemEvalMetric"):
    ids = []
    for i, label in enumerate(labels):
        if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
            if not 0 <= label < len(LABELS):
                raise ValueError(f"{fn}: expected {name} ids in [0, {len(LABELS)}), "
                                 f"got {int(label)} at position {i}")
            ids.append(int(label))
        elif isinstance(label, str) and label in _INDEX:
            ids.append(_INDEX[label])
        else:
            raise ValueError(f"{fn}: expected {name} as SemEval label names or ids, "
                             f"got {label!r} at position {i}")
    return ids


def short_name(label):
    """The scorer's column names: ``"C-E1"`` for ``Cause-Effect(e1,e2)``, ``"_O_"`` for Other."""
    if label == OTHER:
        return "_O_"
    head, tail = label.split("-", 1)
    return f"{head[0]}-{tail[0]}{label[-5]}"


class SemEvalMetric(Metric):
    """Accumulates a 19 x 19 confusion matrix and scores it like the official scorer.

    ``labels`` is ``LABELS`` (``Other`` first). ``update`` takes label names or ids into it.
    """
    main_key = "macro_f1"

    def __init__(self):
        self.labels = list(LABELS)
        self.reset()

    def reset(self):
        self._cm = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)

    def update(self, pred_labels, gold_labels):
        """Args: pred_labels, gold_labels (list[str] | list[int]): ``[B]`` label names from
        ``LABELS`` or their ids, aligned."""
        if isinstance(pred_labels, np.ndarray):
            pred_labels = pred_labels.reshape(-1).tolist()
        if isinstance(gold_labels, np.ndarray):
            gold_labels = gold_labels.reshape(-1).tolist()
        pred_labels, gold_labels = list(pred_labels), list(gold_labels)
        if len(pred_labels) != len(gold_labels):
            raise ValueError(f"SemEvalMetric: expected as many predictions as gold labels, got "
                             f"{len(pred_labels)} and {len(gold_labels)}")
        pred = np.asarray(_to_ids("pred_labels", pred_labels), dtype=np.int64)
        gold = np.asarray(_to_ids("gold_labels", gold_labels), dtype=np.int64)
        k = len(LABELS)
        self._cm += np.bincount(gold * k + pred, minlength=k * k).reshape(k, k)

    def confusion_matrix(self):
        """``[19, 19]`` int64: rows gold, columns predicted, both in ``labels`` order."""
        return self._cm.copy()

    def per_relation(self):
        """Official per-relation counts and scores.

        Returns:
            dict[str, dict]: relation -> ``{"tp", "pred", "wrong_dir", "gold"}`` (ints) and
            ``{"p", "r", "f1"}`` (percent), in ``RELATIONS`` order. ``pred`` includes
            ``wrong_dir``.
        """
        cm = self._cm
        out = {}
        for rel, (a, b) in zip(RELATIONS, _REL_IDS):
            tp = int(cm[a, a] + cm[b, b])
            wrong_dir = int(cm[a, b] + cm[b, a])
            pred = int(cm[:, a].sum() + cm[:, b].sum())
            gold = int(cm[a, :].sum() + cm[b, :].sum())
            p = 0.0 if pred == 0 else 100.0 * tp / pred
            r = 0.0 if gold == 0 else 100.0 * tp / gold
            f1 = 0.0 if p + r == 0 else 2 * p * r / (p + r)
            out[rel] = {"tp": tp, "pred": pred, "wrong_dir": wrong_dir, "gold": gold,
                        "p": p, "r": r, "f1": f1}
        return out

    def accumulate(self):
        """Returns: ``{"macro_f1", "macro_p", "macro_r", "accuracy", "f1_<Relation>" x 9}``, all
        in percent. ``f1_<Relation>`` is 0.0 for a relation absent from the gold labels (and
        left out of the macro averages)."""
        rows = self.per_relation()
        present = [rel for rel in RELATIONS if rows[rel]["gold"] > 0]
        sums = {"p": 0.0, "r": 0.0, "f1": 0.0}
        for rel in present:                       # alphabetical, as the scorer's sort keys
            for key in sums:
                sums[key] += rows[rel][key]
        n = len(present)
        total = int(self._cm.sum())
        result = {"macro_f1": sums["f1"] / n if n else 0.0,
                  "macro_p": sums["p"] / n if n else 0.0,
                  "macro_r": sums["r"] / n if n else 0.0,
                  "accuracy": 100.0 * int(np.trace(self._cm)) / total if total else 0.0}
        result.update({f"f1_{rel}": rows[rel]["f1"] for rel in RELATIONS})
        return result

    def report(self):
        """Per-relation table (as the scorer's official section) and the 19 x 19 matrix."""
        rows = self.per_relation()
        m = self.accumulate()
        width = max(len(r) for r in RELATIONS)
        lines = ["(9+1)-way evaluation with directionality taken into account (official):",
                 f"{'relation':<{width}}    TP  pred(xDIRx)  gold       P       R      F1"]
        for rel in RELATIONS:
            x = rows[rel]
            note = "" if x["gold"] else "  (not in gold, not averaged)"
            lines.append(f"{rel:<{width}}  {x['tp']:4d}  {x['pred']:4d}({x['wrong_dir']:4d})  "
                         f"{x['gold']:4d}  {x['p']:6.2f}  {x['r']:6.2f}  {x['f1']:6.2f}{note}")
        n = sum(1 for rel in RELATIONS if rows[rel]["gold"])
        lines.append(f"macro-averaged over {n} relations (excluding Other): P = "
                     f"{m['macro_p']:.2f}%  R = {m['macro_r']:.2f}%  F1 = {m['macro_f1']:.2f}%")
        total = int(self._cm.sum())
        lines.append(f"19-way accuracy = {int(np.trace(self._cm))}/{total} = "
                     f"{m['accuracy']:.2f}%")
        lines.append("confusion matrix (rows gold, columns predicted):")
        names = [short_name(label) for label in LABELS]
        lines.append("      " + " ".join(f"{s:>4}" for s in names) + "   SUM")
        for name, row in zip(names, self._cm):
            lines.append(f"{name:>4} |" + " ".join(f"{v:4d}" for v in row) + f" {row.sum():5d}")
        lines.append(" SUM |" + " ".join(f"{v:4d}" for v in self._cm.sum(0))
                     + f" {total:5d}")
        return "\n".join(lines)


class SemEvalProbsMetric(SemEvalMetric):
    """The official score, also keeping each example's probabilities (PR curves) and index
    (answer files in example order)."""

    def reset(self):
        super().reset()
        self._probs, self._gold, self._index = [], [], []

    def update(self, probs, gold, index=None):
        """Args: probs (np.ndarray): float ``[B, 19]``; gold (np.ndarray): int64 ``[B]``;
        index (np.ndarray, optional): int64 ``[B]`` example indices (default: arrival order)."""
        probs = np.asarray(probs)
        if probs.ndim != 2 or probs.shape[1] != len(LABELS):
            raise ValueError(f"SemEvalProbsMetric: expected probs of shape [batch_size, "
                             f"{len(LABELS)}], got {list(probs.shape)}")
        super().update(probs.argmax(-1), gold)
        self._probs.append(probs)
        self._gold.append(np.asarray(gold).reshape(-1))
        start = sum(len(p) for p in self._index)
        self._index.append(np.asarray(index).reshape(-1) if index is not None
                           else np.arange(start, start + len(probs)))

    @property
    def probs(self):
        """float ``[N, 19]`` in arrival order."""
        return np.concatenate(self._probs) if self._probs else np.zeros((0, len(LABELS)))

    @property
    def gold(self):
        """int64 ``[N]`` in arrival order."""
        return np.concatenate(self._gold) if self._gold else np.zeros((0,), np.int64)

    @property
    def index(self):
        """int64 ``[N]``: the example index of each row."""
        return np.concatenate(self._index) if self._index else np.zeros((0,), np.int64)

    def predictions_in_order(self, n_examples):
        """Predicted label ids ``[n_examples]`` sorted by example index; every example must
        have exactly one prediction."""
        order = np.argsort(self.index, kind="stable")
        idx, pred = self.index[order], self.probs[order].argmax(-1)
        if len(idx) != n_examples or (idx != np.arange(n_examples)).any():
            raise ValueError(f"SemEvalProbsMetric: expected one prediction per example, got "
                             f"{len(idx)} for {n_examples} examples")
        return pred


def answer_text(ids, labels, _fn="answer_text"):
    """Predictions in the official answer format, ``ID<TAB>label\n`` per line.

    Every line, the last included, ends with ``\n`` (the scorer rejects a last line without
    it). The text can be scored by ``semeval2010_task8_scorer-v1.2.pl`` and read back with
    ``ernie_res.data.semeval.read_key``.

    Args:
        ids (list[str | int]): numeric sentence IDs, unique.
        labels (list[str | int]): label names from ``LABELS`` or their ids, aligned with ``ids``.
    """
    ids, labels = list(ids), list(labels)
    if len(ids) != len(labels):
        raise ValueError(f"{_fn}: expected as many labels as ids, got "
                         f"{len(labels)} and {len(ids)}")
    label_ids = _to_ids("labels", labels, _fn)
    seen = set()
    lines = []
    for sid, lid in zip(ids, label_ids):
        sid = str(sid)
        if not (sid.isdigit() and sid.isascii()):
            raise ValueError(f"{_fn}: expected numeric ids, got {sid!r}")
        if sid in seen:
            raise ValueError(f"{_fn}: expected unique ids, got {sid} twice")
        seen.add(sid)
        lines.append(f"{sid}\t{LABELS[lid]}\n")
    return "".join(lines)


def write_answer_file(path, ids, labels):
    """Write ``answer_text(ids, labels)`` to ``path`` (its directory is created if needed)."""
    text = answer_text(ids, labels, _fn="write_answer_file")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def score_answer_file(answer_path, key_path):
    """Score an answer file against a key file (every key ID must be answered).

    Returns:
        SemEvalMetric: updated with all pairs; call ``accumulate()`` or ``report()``.
    Raises:
        DataFormatError: a malformed file. ValueError: answer IDs differ from key IDs.
    """
    answers, key = read_key(answer_path), read_key(key_path)
    if set(answers) != set(key):
        missing = sorted(set(key) - set(answers), key=int)[:5]
        extra = sorted(set(answers) - set(key), key=int)[:5]
        raise ValueError(f"score_answer_file: expected the IDs of the key, got missing "
                         f"{missing} and extra {extra} (first 5 each)")
    metric = SemEvalMetric()
    order = list(key)
    metric.update([answers[i] for i in order], [key[i] for i in order])
    return metric
