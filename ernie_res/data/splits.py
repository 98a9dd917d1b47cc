"""Dev sets for data sets that ship without one (20 Newsgroups bydate, SemEval-2010 Task 8):
a deterministic, stratified hold-out of the training split."""
import random
from collections import Counter, defaultdict


def label_counts(examples):
    """Number of examples per label, e.g. ``{"sci.med": 60, ...}`` (insertion order = sorted)."""
    counts = Counter(ex["label"] for ex in examples)
    return {label: counts[label] for label in sorted(counts)}


def split_dev(examples, dev_ratio, seed):
    """Deterministic stratified hold-out of ``examples`` (20NG bydate has no official dev set).

    For each label in sorted order, the label's examples are shuffled with one
    ``random.Random(seed)`` and the first ``round(n * dev_ratio)`` go to dev, at least 1 when
    ``n >= 2`` and at most ``n - 1`` (a label with one example stays in train).

    Args:
        examples (list[dict]): each with a ``"label"`` key.
        dev_ratio (float): fraction held out, ``0 < dev_ratio < 1``.
        seed (int): seed of the shuffle.

    Returns:
        tuple[list[dict], list[dict]]: ``(train, dev)``, each in the input order.
    """
    if isinstance(dev_ratio, bool) or not isinstance(dev_ratio, (int, float)) \
            or not 0.0 < dev_ratio < 1.0:
        raise ValueError(f"dev_ratio: expected a number in (0, 1), got {dev_ratio!r}")
    by_label = defaultdict(list)
    for i, ex in enumerate(examples):
        by_label[ex["label"]].append(i)
    rng = random.Random(seed)
    dev_index = set()
    for label in sorted(by_label):
        idx = list(by_label[label])
        n = len(idx)
        if n < 2:
            continue
        k = min(max(int(round(n * dev_ratio)), 1), n - 1)
        rng.shuffle(idx)
        dev_index.update(idx[:k])
    train = [ex for i, ex in enumerate(examples) if i not in dev_index]
    dev = [ex for i, ex in enumerate(examples) if i in dev_index]
    return train, dev
