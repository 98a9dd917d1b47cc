"""Word-level sliding windows: hand cases and a property loop over random sentences, with the
max-context owner of every word found by brute force."""
import random

import pytest

from ernie_res.data.windows import (Window, effective_lengths, merge_window_predictions,
                                    plan_windows)


def brute_force_owner(windows, lengths, i):
    """Index of the window where word i has the most sub-token context (earliest on ties)."""
    best, best_context = None, -1
    for k, w in enumerate(windows):
        if w.start <= i < w.end:
            context = min(sum(lengths[w.start:i]), sum(lengths[i + 1:w.end]))
            if context > best_context:
                best, best_context = k, context
    return best


def test_sentence_that_fits_is_one_window():
    assert plan_windows([1, 3, 2], 6) == [Window(0, 3, 0, 3)]
    assert plan_windows([1, 3, 2], 6, stride_words=1) == [Window(0, 3, 0, 3)]


def test_empty_sentence_is_one_empty_window():
    windows = plan_windows([], 4)
    assert windows == [Window(0, 0, 0, 0)]
    assert merge_window_predictions(windows, [[]]) == []


def test_hand_case_with_stride():
    # budget 4 one-sub-token words, starts 2 apart: [0,4) [2,6) [4,8) [6,10). Word 2 has context
    # min(2,1)=1 in [0,4) and 0 in [2,6), so it stays in the first window; word 3 has 0 and 1.
    windows = plan_windows([1] * 10, 4, stride_words=2)
    assert windows == [Window(0, 4, 0, 3), Window(2, 6, 3, 5), Window(4, 8, 5, 7),
                       Window(6, 10, 7, 10)]
    preds = [[f"w{i}@{k}" for i in range(w.start, w.end)] for k, w in enumerate(windows)]
    assert merge_window_predictions(windows, preds) == ["w0@0", "w1@0", "w2@0", "w3@1", "w4@1",
                                                        "w5@2", "w6@2", "w7@3", "w8@3", "w9@3"]


def test_default_stride_is_half_a_window():
    assert [(w.start, w.end) for w in plan_windows([1] * 10, 4)] == [(0, 4), (2, 6), (4, 8),
                                                                    (6, 10)]


def test_empty_and_overlong_words_are_kept():
    # 0 sub-tokens counts as 1 ([UNK]); 7 > budget 5 is cut to 5: no two words fit together.
    assert effective_lengths([0, 7, 2], 5) == [1, 5, 2]
    windows = plan_windows([0, 7, 2], 5)
    assert windows == [Window(0, 1, 0, 1), Window(1, 2, 1, 2), Window(2, 3, 2, 3)]
    assert merge_window_predictions(windows, [["a"], ["b"], ["c"]]) == ["a", "b", "c"]


def test_window_that_would_add_nothing_is_skipped():
    # [0,3) cannot take word 3 (10 sub-tokens); windows starting at 1 or 2 would end at 3 too.
    assert [(w.start, w.end) for w in plan_windows([1, 1, 1, 10], 10, stride_words=1)] == [
        (0, 3), (3, 4)]


def test_overlap_when_stride_is_smaller_than_window():
    windows = plan_windows([1] * 20, 8, stride_words=3)
    assert all(b.start == a.start + 3 and a.end - b.start == 5
               for a, b in zip(windows, windows[1:]))
    no_overlap = plan_windows([1] * 20, 8, stride_words=8)
    assert [(w.start, w.end) for w in no_overlap] == [(0, 8), (8, 16), (16, 20)]
    # a stride beyond the window is capped at its end: never a gap.
    assert [(w.start, w.end) for w in plan_windows([1] * 20, 8, stride_words=50)] == [
        (0, 8), (8, 16), (16, 20)]


def test_property_random_sentences():
    for seed in range(300):
        rng = random.Random(seed)
        n = rng.randint(0, 40)
        word_lengths = [rng.choice([0, 1, 1, 1, 2, 2, 3, 5, 12]) for _ in range(n)]
        budget = rng.randint(1, 16)
        stride = rng.choice([None, 1, 2, 3, 5, 8, 100])
        windows = plan_windows(word_lengths, budget, stride)
        lengths = effective_lengths(word_lengths, budget)
        msg = (seed, word_lengths, budget, stride, windows)
        # budget respected, windows non-empty for non-empty sentences, sentence covered
        assert all(sum(lengths[w.start:w.end]) <= budget for w in windows), msg
        if n:
            assert all(w.end > w.start for w in windows), msg
        assert windows[0].start == 0 and windows[-1].end == n, msg
        for a, b in zip(windows, windows[1:]):
            assert a.start < b.start <= a.end < b.end, msg   # no gap, every window adds words
            if stride is not None and stride < a.end - a.start and b.start == a.start + stride:
                assert b.start < a.end, msg
        # every word scored exactly once, inside its window, where it has the most context
        scored = [i for w in windows for i in range(w.score_start, w.score_end)]
        assert scored == list(range(n)), msg
        for k, w in enumerate(windows):
            assert w.start <= w.score_start <= w.score_end <= w.end, msg
            for i in range(w.score_start, w.score_end):
                assert brute_force_owner(windows, lengths, i) == k, msg
        # merge takes each word's prediction from its owner window
        preds = [[(i, k) for i in range(w.start, w.end)] for k, w in enumerate(windows)]
        merged = merge_window_predictions(windows, preds)
        assert merged == [(i, brute_force_owner(windows, lengths, i)) for i in range(n)], msg


def test_errors():
    with pytest.raises(ValueError, match=r"windows: expected max_subtokens an int >= 1, got 0"):
        plan_windows([1], 0)
    with pytest.raises(ValueError, match=r"windows: expected word_lengths of ints >= 0, "
                                         r"got -1 for word 1"):
        plan_windows([1, -1], 4)
    with pytest.raises(ValueError, match=r"windows: expected stride_words None or an int >= 1, "
                                         r"got 0"):
        plan_windows([1], 4, stride_words=0)
    windows = plan_windows([1] * 6, 4, stride_words=2)
    with pytest.raises(ValueError, match=r"merge_window_predictions: expected one prediction "
                                         r"list per window \(2\), got 1"):
        merge_window_predictions(windows, [[0] * 4])
    with pytest.raises(ValueError, match=r"merge_window_predictions: expected 4 predictions for "
                                         r"window 1 \(words \[2, 6\)\), got 3"):
        merge_window_predictions(windows, [[0] * 4, [0] * 3])
    bad = [windows[0]._replace(score_end=2), windows[1]]
    with pytest.raises(ValueError, match=r"expected window 1 to score words from 2 inside "
                                         r"\[2, 6\), got \[3, 6\)"):
        merge_window_predictions(bad, [[0] * 4, [0] * 4])
