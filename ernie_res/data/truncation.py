"""Fitting long documents into a 512-token encoder.

* ``head_tail``: keep the first ``head`` and the last ``max_tokens - head`` word pieces
  (Sun et al. 2019, "How to Fine-Tune BERT for Text Classification?": head 128 + tail 382 was
  the best truncation on IMDb and Sogou).
* ``chunk_windows``: split into windows of ``max_tokens`` word pieces whose starts are
  ``stride`` apart (overlapping when ``stride < max_tokens``), at most ``max_chunks`` of
  them; the model encodes each window and attention-pools over the window vectors.

Both take token ids *without* ``[CLS]``/``[SEP]``; ``max_tokens`` is the budget left for them.
"""


def head_tail(ids, max_tokens, head):
    """Return at most ``max_tokens`` ids: the first ``head`` and the last ``max_tokens - head``.

    Args:
        ids (list[int]): word-piece ids of the document.
        max_tokens (int): the budget (max_seq_len minus the special tokens).
        head (int): how many leading ids to keep, ``0 <= head <= max_tokens``.
    """
    if not 0 <= head <= max_tokens:
        raise ValueError(f"head_tail: expected 0 <= head <= max_tokens ({max_tokens}), "
                         f"got head={head}")
    if len(ids) <= max_tokens:
        return list(ids)
    tail = max_tokens - head
    return list(ids[:head]) + (list(ids[len(ids) - tail:]) if tail > 0 else [])


def chunk_windows(ids, max_tokens, stride, max_chunks):
    """Split ``ids`` into at most ``max_chunks`` windows of at most ``max_tokens`` ids.

    Window ``k`` starts at ``k * stride``. The last window ends at the end of the document
    when ``max_chunks`` allows; otherwise the document is covered up to
    ``(max_chunks - 1) * stride + max_tokens``. An empty document gives one empty window, so
    every document is still predicted.

    Returns:
        list[list[int]]: the windows, in document order.
    """
    if max_tokens < 1 or max_chunks < 1:
        raise ValueError(f"chunk_windows: expected max_tokens >= 1 and max_chunks >= 1, "
                         f"got {max_tokens} and {max_chunks}")
    if not 1 <= stride <= max_tokens:
        raise ValueError(f"chunk_windows: expected 1 <= stride <= max_tokens ({max_tokens}), "
                         f"got stride={stride}")
    ids = list(ids)
    windows = []
    start = 0
    while len(windows) < max_chunks:
        windows.append(ids[start:start + max_tokens])
        if start + max_tokens >= len(ids):
            break
        start += stride
    return windows
