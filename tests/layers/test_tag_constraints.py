"""Tests for ernie_res.layers.tag_constraints: the valid transitions of IOB2 and BIOES."""

import re

import numpy as np
import pytest

from ernie_res.layers.tag_constraints import allowed_transitions

IOB2_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
BIOES_LABELS = ["O", "B-X", "I-X", "E-X", "S-X"]


def test_allowed_transitions_iob2():
    allowed, start, end = allowed_transitions(IOB2_LABELS, "IOB2")
    expected = np.array(
        [  # to: O  B-PER I-PER B-LOC I-LOC
            [1, 1, 0, 1, 0],  # from O
            [1, 1, 1, 1, 0],  # from B-PER
            [1, 1, 1, 1, 0],  # from I-PER
            [1, 1, 0, 1, 1],  # from B-LOC
            [1, 1, 0, 1, 1],  # from I-LOC
        ],
        dtype=bool,
    )
    np.testing.assert_array_equal(allowed, expected)
    np.testing.assert_array_equal(start, [True, True, False, True, False])
    np.testing.assert_array_equal(end, [True] * 5)


def test_allowed_transitions_bioes():
    allowed, start, end = allowed_transitions(BIOES_LABELS + ["S-Y"], "BIOES")
    expected = np.array(
        [  # to: O  B-X I-X E-X S-X S-Y
            [1, 1, 0, 0, 1, 1],  # from O
            [0, 0, 1, 1, 0, 0],  # from B-X
            [0, 0, 1, 1, 0, 0],  # from I-X
            [1, 1, 0, 0, 1, 1],  # from E-X
            [1, 1, 0, 0, 1, 1],  # from S-X
            [1, 1, 0, 0, 1, 1],  # from S-Y
        ],
        dtype=bool,
    )
    np.testing.assert_array_equal(allowed, expected)
    np.testing.assert_array_equal(start, [True, True, False, False, True, True])
    np.testing.assert_array_equal(end, [True, False, False, True, True, True])


@pytest.mark.parametrize(
    "labels, scheme, message",
    [
        (["O", "E-PER"], "IOB2",
         "allowed_transitions: expected labels 'O' or '<B|I>-TYPE' for scheme IOB2, got 'E-PER'"),
        (["O", "PER"], "BIOES",
         "allowed_transitions: expected labels 'O' or '<B|I|E|S>-TYPE' for scheme BIOES, got 'PER'"),
        (["O"], "BILOU", "allowed_transitions: expected scheme 'IOB2' or 'BIOES', got 'BILOU'"),
        ([], "IOB2", "allowed_transitions: expected at least one label, got none"),
    ],
)
def test_allowed_transitions_rejects_bad_input(labels, scheme, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        allowed_transitions(labels, scheme)
