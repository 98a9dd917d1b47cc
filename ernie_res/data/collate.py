"""Padding helpers shared by every task's ``collate``."""
import numpy as np


def pad_2d(seqs, pad_value=0, dtype=np.int64, length=None):
    """``list[list[int]]`` -> ``[N, max_len]`` array padded on the right."""
    length = length if length is not None else max((len(s) for s in seqs), default=0)
    out = np.full((len(seqs), max(length, 1)), pad_value, dtype=dtype)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out


def pad_3d(nested, pad_value=0, dtype=np.int64):
    """``list[list[list[int]]]`` (batch, chunks, tokens) -> ``[B, C, T]`` padded array."""
    c = max(len(x) for x in nested)
    t = max((len(s) for x in nested for s in x), default=1)
    out = np.full((len(nested), c, max(t, 1)), pad_value, dtype=dtype)
    for i, chunks in enumerate(nested):
        for j, s in enumerate(chunks):
            out[i, j, :len(s)] = s
    return out


def with_labels(batch, features):
    """Add ``labels`` ``[B]`` when every feature has one; inference features carry -1."""
    if all(f["label"] >= 0 for f in features):
        batch["labels"] = np.array([f["label"] for f in features], dtype=np.int64)
    return batch
