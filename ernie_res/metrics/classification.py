"""Single-label classification metrics: accuracy (main), macro-P/R/F1, per-class report,
confusion matrix. Values are percentages, as in the papers we compare against.

Macro-F1 (and macro-P/R) is the unweighted mean over the classes that occur among the gold
labels or the predictions (scikit-learn's ``f1_score(average="macro")`` with
``labels=None``); a class absent from both is left out of the mean.
"""
import numpy as np

from ernie_res.metrics.base import Metric


class ClassificationMetric(Metric):
    main_key = "accuracy"

    def __init__(self, labels):
        self.labels = list(labels)
        self.reset()

    def reset(self):
        self._probs = []
        self._gold = []

    def update(self, probs, gold):
        """Args: probs float ``[B, K]`` class probabilities; gold int ``[B]`` label ids."""
        probs = np.asarray(probs)
        gold = np.asarray(gold).reshape(-1)
        if probs.ndim != 2 or probs.shape[1] != len(self.labels) or probs.shape[0] != len(gold):
            raise ValueError(f"ClassificationMetric: expected probs [B, {len(self.labels)}] and "
                             f"gold [B], got {list(probs.shape)} and {list(gold.shape)}")
        self._probs.append(probs.astype(np.float32))
        self._gold.append(gold.astype(np.int64))

    @property
    def probs(self):
        return np.concatenate(self._probs) if self._probs else np.zeros((0, len(self.labels)))

    @property
    def gold(self):
        return np.concatenate(self._gold) if self._gold else np.zeros((0,), dtype=np.int64)

    def confusion_matrix(self):
        """``[K, K]`` int matrix: rows are gold classes, columns predicted classes."""
        k = len(self.labels)
        pred = self.probs.argmax(-1) if len(self.gold) else np.zeros(0, dtype=np.int64)
        return np.bincount(self.gold * k + pred, minlength=k * k).reshape(k, k)

    def per_class(self):
        cm = self.confusion_matrix()
        tp = np.diag(cm).astype(np.float64)
        pred_n = cm.sum(0)
        gold_n = cm.sum(1)
        p = np.divide(tp, pred_n, out=np.zeros_like(tp), where=pred_n > 0)
        r = np.divide(tp, gold_n, out=np.zeros_like(tp), where=gold_n > 0)
        f = np.divide(2 * p * r, p + r, out=np.zeros_like(tp), where=(p + r) > 0)
        present = (gold_n + pred_n) > 0
        return p, r, f, gold_n, present

    def accumulate(self):
        n = len(self.gold)
        if n == 0:
            return {"accuracy": 0.0, "macro_f1": 0.0, "macro_p": 0.0, "macro_r": 0.0}
        cm = self.confusion_matrix()
        p, r, f, _, present = self.per_class()
        return {"accuracy": 100.0 * np.trace(cm) / n,
                "macro_f1": 100.0 * float(f[present].mean()),
                "macro_p": 100.0 * float(p[present].mean()),
                "macro_r": 100.0 * float(r[present].mean())}

    def report(self):
        p, r, f, support, _ = self.per_class()
        width = max([len(x) for x in self.labels] + [9])
        lines = [f"{'class':<{width}}  precision  recall     f1  support"]
        for i, name in enumerate(self.labels):
            lines.append(f"{name:<{width}}  {100 * p[i]:9.2f}  {100 * r[i]:6.2f}  "
                         f"{100 * f[i]:5.2f}  {support[i]:7d}")
        m = self.accumulate()
        lines.append(f"{'macro avg':<{width}}  {m['macro_p']:9.2f}  {m['macro_r']:6.2f}  "
                     f"{m['macro_f1']:5.2f}  {int(support.sum()):7d}")
        lines.append(f"accuracy {m['accuracy']:.2f} on {int(support.sum())} examples")
        lines.append("confusion matrix (rows gold, columns predicted, label order above):")
        lines.extend(" ".join(f"{v:4d}" for v in row) for row in self.confusion_matrix())
        return "\n".join(lines)
