"""Tagging schemes: hand cases, and brute force over every short sequence against
independent statements of the chunk rule and of well-formedness."""
import itertools

import pytest

from ernie_res.data.tagging import (bioes_to_iob2, chunk_end, chunk_start, convert_tags,
                                    from_spans, iob1_to_iob2, iob2_to_bioes, is_valid,
                                    spans, split_tag)

TYPES = ("A", "C")
ALPHABET = ["O"] + [f"{p}-{t}" for p in "BIES" for t in TYPES]


def all_sequences(max_len, alphabet=ALPHABET):
    for n in range(max_len + 1):
        yield from itertools.product(alphabet, repeat=n)


def reference_spans(tags):
    """conlleval's chunk rule restated: a non-O token starts a new chunk iff it is B-/S- or it
    follows O, E-, S- or another type; otherwise it extends the open chunk."""
    chunks = []
    prev = "O"
    for i, tag in enumerate(tags):
        if tag == "O":
            prev = tag
            continue
        p, t = tag.split("-", 1)
        pp, pt = (prev.split("-", 1) if prev != "O" else ("O", ""))
        if p in "BS" or pp in "OES" or pt != t:
            chunks.append([t, i, i + 1])
        else:
            chunks[-1][2] = i + 1
        prev = tag
    return [tuple(c) for c in chunks]


def reference_valid(tags, scheme):
    """Local well-formedness rules, written independently of from_spans."""
    allowed = {"IOB1": "BI", "IOB2": "BI", "BIOES": "BIES"}[scheme]
    parts = [("O", "") if t == "O" else tuple(t.split("-", 1)) for t in tags]
    if any(p not in allowed and p != "O" for p, _ in parts):
        return False
    for i, (p, t) in enumerate(parts):
        pp, pt = parts[i - 1] if i else ("O", "")
        inside_prev = pp in "BI" and pt == t
        if scheme == "IOB2" and p == "I" and not inside_prev:
            return False
        if scheme == "IOB1" and p == "B" and not inside_prev:
            return False
        if scheme == "BIOES":
            if p in "IE" and not inside_prev:
                return False
            if pp in "BI" and not (p in "IE" and pt == t):
                return False
    if scheme == "BIOES" and parts and parts[-1][0] in "BI":
        return False
    return True


def test_split_tag_at_first_hyphen():
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("I-MISC-X") == ("I", "MISC-X")
    assert split_tag("O") == ("O", "")
    assert split_tag("B-") == ("B", "")


def test_iob1_to_iob2_hand_case():
    iob1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-ORG", "B-ORG"]
    assert iob1_to_iob2(iob1) == ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC",
                                  "B-ORG", "B-ORG"]


def test_iob2_bioes_round_trip_hand_case():
    iob2 = ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "B-MISC"]
    bioes = ["B-PER", "I-PER", "E-PER", "O", "S-LOC", "B-LOC", "E-LOC", "S-MISC"]
    assert iob2_to_bioes(iob2) == bioes
    assert bioes_to_iob2(bioes) == iob2
    assert convert_tags(iob2, "IOB2", "IOB1") == ["I-PER", "I-PER", "I-PER", "O", "I-LOC",
                                                   "B-LOC", "I-LOC", "I-MISC"]


@pytest.mark.parametrize("tags,scheme,expected", [
    (["B-PER", "I-LOC"], "IOB2", [("PER", 0, 1), ("LOC", 1, 2)]),      # type change
    (["O", "I-PER", "I-PER"], "IOB1", [("PER", 1, 3)]),                 # I after O starts
    (["I-PER", "B-PER", "I-PER"], "IOB1", [("PER", 0, 1), ("PER", 1, 3)]),
    (["O", "B-PER", "I-PER"], "IOB2", [("PER", 1, 3)]),                 # ends at sentence end
    (["B-PER", "B-PER"], "IOB2", [("PER", 0, 1), ("PER", 1, 2)]),
    (["E-PER", "E-PER"], "BIOES", [("PER", 0, 1), ("PER", 1, 2)]),
    (["B-PER", "E-PER", "I-PER"], "BIOES", [("PER", 0, 2), ("PER", 2, 3)]),
    (["S-PER", "I-PER"], "BIOES", [("PER", 0, 1), ("PER", 1, 2)]),
    (["B-PER", "S-PER"], "BIOES", [("PER", 0, 1), ("PER", 1, 2)]),
    (["I-PER", "E-PER"], "BIOES", [("PER", 0, 2)]),
    (["B-MISC-X", "I-MISC-X"], "IOB2", [("MISC-X", 0, 2)]),
    ([], "IOB2", []),
])
def test_spans_hand_cases(tags, scheme, expected):
    assert spans(tags, scheme) == expected


def test_spans_match_restated_rule_on_every_short_sequence():
    for tags in all_sequences(4):
        assert spans(list(tags), "BIOES") == reference_spans(tags), tags


def test_is_valid_matches_local_rules_on_every_short_sequence():
    for scheme in ("IOB1", "IOB2", "BIOES"):
        for tags in all_sequences(4):
            assert is_valid(list(tags), scheme) == reference_valid(tags, scheme), (scheme, tags)


def test_conversion_keeps_spans_and_gives_valid_tags():
    for tags in all_sequences(4):
        chunks = spans(list(tags), "BIOES")
        for dst in ("IOB1", "IOB2", "BIOES"):
            out = convert_tags(list(tags), "BIOES", dst)
            assert spans(out, dst) == chunks
            assert is_valid(out, dst)
            assert from_spans(chunks, len(tags), dst) == out


def test_valid_sequences_are_fixed_points():
    for tags in all_sequences(4, ["O", "B-A", "I-A", "B-C", "I-C"]):
        for scheme in ("IOB1", "IOB2"):
            if is_valid(list(tags), scheme):
                assert convert_tags(list(tags), scheme, scheme) == list(tags)


def test_chunk_rules_spot_checks():
    assert chunk_end("E", "B", "PER", "PER") and chunk_start("E", "B", "PER", "PER")
    assert not chunk_end("B", "E", "PER", "PER") and not chunk_start("B", "E", "PER", "PER")
    assert chunk_end("B", "I", "PER", "LOC") and chunk_start("B", "I", "PER", "LOC")
    assert not chunk_end("O", "I", "", "PER") and chunk_start("O", "I", "", "PER")
    assert chunk_end("[", "]", "NP", "NP") and chunk_start("[", "]", "NP", "NP")
    assert not chunk_start(".", ".", "", "")


def test_errors_name_the_tag_and_position():
    with pytest.raises(ValueError, match=r"spans: expected IOB2 tags \('O' or one of B-/I- "
                                         r"followed by a type\), got 'S-PER' at position 1"):
        spans(["O", "S-PER"], "IOB2")
    with pytest.raises(ValueError, match=r"got 'B-' at position 0"):
        spans(["B-"], "BIOES")
    with pytest.raises(ValueError, match=r"got 'X-PER' at position 0"):
        iob1_to_iob2(["X-PER"])
    with pytest.raises(ValueError, match=r"convert_tags: expected scheme in "
                                         r"\['IOB1', 'IOB2', 'BIOES'\], got 'IOE'"):
        convert_tags(["O"], "IOB2", "IOE")
    with pytest.raises(ValueError, match=r"is_valid: expected scheme in"):
        is_valid(["O"], "iob2")
    with pytest.raises(ValueError, match=r"from_spans: expected sorted, non-overlapping, "
                                         r"non-empty typed chunks inside \[0, 3\), "
                                         r"got \('PER', 1, 3\)"):
        from_spans([("LOC", 0, 2), ("PER", 1, 3)], 3, "IOB2")
    assert not is_valid(["O", "S-PER"], "IOB2")
