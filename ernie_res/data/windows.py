"""Word-level sliding windows for tagging sentences longer than the encoder's budget.

A sentence is cut into windows of whole words whose sub-tokens fit the budget; consecutive
windows overlap, and every word is scored in exactly one window: the one in which it has the
most context, i.e. the largest ``min(sub-tokens to its left, sub-tokens to its right)`` inside
the window (ties go to the earlier window). This is the "maximum context" rule of BERT's SQuAD
document spans (Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers for
Language Understanding", run_squad ``_check_is_max_context``), applied to whole words and
without its small bonus for longer windows.

Counting sub-tokens (``effective_lengths``):

* a word the tokenizer turns into 0 sub-tokens (a control or zero-width character) counts as 1:
  the caller must put one ``[UNK]``-like token for it, so it still gets a prediction;
* a word longer than the whole budget counts as ``max_subtokens``: the caller keeps only its
  first sub-tokens (the first one carries the label). A word is never dropped.

Because the starts and the ends of the windows both strictly increase, the words each window
scores form one contiguous range ``[score_start, score_end)`` (which can be empty when both
neighbours give every word of a window more context). Everything here is pure Python.
"""
import bisect
from typing import NamedTuple


class Window(NamedTuple):
    """Words ``[start, end)`` go into the encoder; words ``[score_start, score_end)`` take their
    predictions from this window."""
    start: int
    end: int
    score_start: int
    score_end: int


def effective_lengths(word_lengths, max_subtokens):
    """Sub-tokens each word takes inside a window: ``min(max(n, 1), max_subtokens)``.

    Args:
        word_lengths (list[int]): sub-tokens per word from the tokenizer, each ``>= 0``.
        max_subtokens (int): the budget per window without ``[CLS]``/``[SEP]``, ``>= 1``.
    Returns:
        list[int]
    """
    if isinstance(max_subtokens, bool) or not isinstance(max_subtokens, int) or max_subtokens < 1:
        raise ValueError(f"windows: expected max_subtokens an int >= 1, got {max_subtokens!r}")
    for i, n in enumerate(word_lengths):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"windows: expected word_lengths of ints >= 0, got {n!r} "
                             f"for word {i}")
    return [min(max(n, 1), max_subtokens) for n in word_lengths]


def plan_windows(word_lengths, max_subtokens, stride_words=None):
    """Cut a sentence into overlapping windows of whole words.

    Window k+1 starts ``stride_words`` words after window k (half of window k's words, at least
    one, when ``stride_words`` is None), but never after window k's end, and further on if a
    window starting there would not reach past window k's end (it would add nothing). Each
    window takes as many words as fit the budget. A sentence that fits is one window; an empty
    sentence is one empty window.

    Args:
        word_lengths (list[int]): sub-tokens per word, see ``effective_lengths``.
        max_subtokens (int): the budget per window without ``[CLS]``/``[SEP]``.
        stride_words (int | None): words between window starts, ``>= 1``.
    Returns:
        list[Window]: windows in sentence order; their score ranges tile ``[0, len(words))``.
    """
    lengths = effective_lengths(word_lengths, max_subtokens)
    if stride_words is not None and (isinstance(stride_words, bool)
                                     or not isinstance(stride_words, int) or stride_words < 1):
        raise ValueError(f"windows: expected stride_words None or an int >= 1, "
                         f"got {stride_words!r}")
    n = len(lengths)
    if n == 0:
        return [Window(0, 0, 0, 0)]
    prefix = [0]                                   # prefix[i] = sub-tokens of words [0, i)
    for length in lengths:
        prefix.append(prefix[-1] + length)

    def fit_end(start):   # the largest end with sum(lengths[start:end]) <= max_subtokens
        return bisect.bisect_right(prefix, prefix[start] + max_subtokens) - 1

    ranges = []
    start = 0
    while True:
        end = fit_end(start)
        assert end > start, "every effective length is <= max_subtokens"
        ranges.append((start, end))
        if end == n:
            break
        step = stride_words if stride_words is not None else max(1, (end - start) // 2)
        start = min(start + step, end)
        while fit_end(start) <= end:               # terminates: fit_end(end) > end
            start += 1

    # Word i goes to the window maximising min(left, right) context in sub-tokens. For windows
    # a < b the later one wins exactly when prefix[i] + prefix[i + 1] exceeds a constant, so the
    # winner never decreases with i and the score ranges are contiguous.
    owner = []
    first = 0                                      # first window that may still contain word i
    for i in range(n):
        while ranges[first][1] <= i:
            first += 1
        best, best_context = None, -1
        k = first
        while k < len(ranges) and ranges[k][0] <= i:
            s, e = ranges[k]
            context = min(prefix[i] - prefix[s], prefix[e] - prefix[i + 1])
            if context > best_context:
                best, best_context = k, context
            k += 1
        owner.append(best)
    assert owner == sorted(owner), "max-context owners are monotone"
    windows = []
    for k, (s, e) in enumerate(ranges):
        score_start = bisect.bisect_left(owner, k)
        score_end = bisect.bisect_right(owner, k)
        windows.append(Window(s, e, score_start, score_end))
    return windows


def merge_window_predictions(windows, per_window_word_preds):
    """Put per-window word predictions back together, one per word of the sentence.

    Args:
        windows (list[Window]): from ``plan_windows``.
        per_window_word_preds (list[list]): for window k, one prediction per word in
            ``[windows[k].start, windows[k].end)``.
    Returns:
        list: ``windows[-1].end`` predictions; word i's comes from the window that scores it.
    """
    if len(windows) != len(per_window_word_preds):
        raise ValueError(f"merge_window_predictions: expected one prediction list per window "
                         f"({len(windows)}), got {len(per_window_word_preds)}")
    merged = []
    for k, (window, preds) in enumerate(zip(windows, per_window_word_preds)):
        start, end, score_start, score_end = window
        if len(preds) != end - start:
            raise ValueError(f"merge_window_predictions: expected {end - start} predictions for "
                             f"window {k} (words [{start}, {end})), got {len(preds)}")
        if not (start <= score_start <= score_end <= end) or score_start != len(merged):
            raise ValueError(f"merge_window_predictions: expected window {k} to score words "
                             f"from {len(merged)} inside [{start}, {end}), got "
                             f"[{score_start}, {score_end})")
        merged.extend(preds[score_start - start:score_end - start])
    if windows and len(merged) != windows[-1].end:
        raise ValueError(f"merge_window_predictions: expected the windows to score all "
                         f"{windows[-1].end} words, got {len(merged)}")
    return merged
