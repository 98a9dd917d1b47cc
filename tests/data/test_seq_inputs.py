"""Tagging inference inputs (data/seq_inputs.py): raw text split into words with offsets."""
from ernie_res.data.seq_inputs import split_words


def test_split_words_offsets():
    text = "U.S. troops, e.g. in Iraq's north-east."
    for w, s, e in split_words(text):
        assert text[s:e] == w
    assert [w for w, _, _ in split_words("Hello, world!")] == ["Hello", ",", "world", "!"]
