"""Entity markup parsing, span checks, marker insertion and the entity-safe token window."""
import random

import pytest

from ernie_res.data.entity_markers import (entity_safe_window, insert_markers,
                                           insert_markers_spans, parse_marked, reindex_span,
                                           validate_spans)

# ---------------------------------------------------------------- parse_marked


def test_parse_marked_removes_tags_and_returns_spans():
    text, e1, e2 = parse_marked("The most common <e1>audits</e1> were about <e2>waste</e2> "
                                "and recycling.")
    assert text == "The most common audits were about waste and recycling."
    assert e1 == (16, 22) and text[16:22] == "audits"
    assert e2 == (34, 39) and text[34:39] == "waste"


def test_parse_marked_e2_first_adjacent_and_at_edges():
    text, e1, e2 = parse_marked("<e2>a b</e2><e1>c</e1>")
    assert (text, e1, e2) == ("a bc", (3, 4), (0, 3))
    text, e1, e2 = parse_marked('"<e1>x</e1>" <e2>y z</e2>')
    assert (text, e1, e2) == ('"x" y z', (1, 2), (4, 7))


@pytest.mark.parametrize("marked, message", [
    ("a <e1>b</e1> c", "expected exactly one <e2>, got 0"),
    ("<e1>a</e1> <e2>b</e2> <e2>c</e2>", "expected exactly one <e2>, got 2"),
    ("<e1>a</e1> <e2>b", "expected exactly one </e2>, got 0"),
    ("<e1>a</e1> <e3>b</e3> <e2>c</e2>", "expected only <e1>, </e1>, <e2>, </e2> tags, got "
                                         "'<e3>'"),
    ("</e1>a<e1> <e2>b</e2>", "expected </e1> after <e1>, got it before"),
    ("<e1>a</e1> <e2></e2>", "expected a non-empty e2, got <e2></e2>"),
    ("<e1>a <e2>b</e2> c</e1>", "expected e1 and e2 not nested or overlapping, got tags in the "
                                "order <e1> <e2> </e2> </e1>"),
    ("<e1>a <e2>b</e1> c</e2>", "expected e1 and e2 not nested or overlapping, got tags in the "
                                "order <e1> <e2> </e1> </e2>"),
])
def test_parse_marked_errors(marked, message):
    with pytest.raises(ValueError, match="parse_marked: " + message.replace("(", r"\(")):
        parse_marked(marked)


def test_parse_marked_rejects_non_str():
    with pytest.raises(ValueError, match="parse_marked: expected a str, got bytes"):
        parse_marked(b"<e1>a</e1>")

# ---------------------------------------------------------------- validate_spans


def test_validate_spans_accepts_lists_and_returns_tuples():
    assert validate_spans("ab cd", [0, 2], [3, 5]) == ((0, 2), (3, 5))
    assert validate_spans("ab cd", (3, 5), (0, 2)) == ((3, 5), (0, 2))
    assert validate_spans("abcd", [0, 2], [2, 4]) == ((0, 2), (2, 4))    # touching is fine


@pytest.mark.parametrize("e1, e2, message", [
    ([0, 6], [0, 1], r"expected e1 as \[start, end\) with 0 <= start < end <= 5, got \[0, 6\]"),
    ([2, 2], [0, 1], r"expected e1 as \[start, end\) with 0 <= start < end <= 5, got \[2, 2\]"),
    ([0, 1], [-1, 1], r"expected e2 as \[start, end\) .* got \[-1, 1\]"),
    ([0, 1], [1.0, 2], r"expected e2 as \[start, end\) .* got \[1.0, 2\]"),
    ([0, 1], [True, 2], r"expected e2 as \[start, end\) .* got \[True, 2\]"),
    ([0, 1, 2], [3, 4], r"expected e1 as \[start, end\) .* got \[0, 1, 2\]"),
    ([0, 3], [2, 5], r"expected non-overlapping e1 and e2, got \[0, 3\] and \[2, 5\]"),
    ([0, 1], [2, 3], r"expected e2 to cover some non-space text, got ' ' at \[2, 3\]"),
])
def test_validate_spans_errors(e1, e2, message):
    with pytest.raises(ValueError, match="validate_spans: " + message):
        validate_spans("ab  c", e1, e2)

# ---------------------------------------------------------------- insert_markers


def test_insert_markers_brief_example_and_reverse_order():
    text = "The audits were about waste."
    assert insert_markers(text, [4, 10], [22, 27]) == \
        "The [E1] audits [/E1] were about [E2] waste [/E2] ."
    assert insert_markers(text, [22, 27], [4, 10]) == \
        "The [E2] audits [/E2] were about [E1] waste [/E1] ."


def test_insert_markers_edges_adjacent_and_custom_markers():
    assert insert_markers("ab", [0, 1], [1, 2]) == "[E1] a [/E1] [E2] b [/E2]"
    assert insert_markers(" a b ", [1, 2], [3, 4], ("@", "@", "#", "#")) == " @ a @ # b # "
    assert insert_markers("x\ty", [0, 1], [2, 3], ("<s>", "</s>", "<o>", "</o>")) == \
        "<s> x </s>\t<o> y </o>"


def test_insert_markers_spans_point_at_the_markers():
    marked, m1, m2 = insert_markers_spans("The audits were about waste.", [4, 10], [22, 27])
    assert marked[m1[0]:m1[1]] == "[E1] audits [/E1]"
    assert marked[m2[0]:m2[1]] == "[E2] waste [/E2]"


def test_insert_markers_random_texts_keep_tokens_and_markers_separate():
    rng = random.Random(0)
    alphabet = "ab ,.\t"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 14)))
        cuts = sorted(rng.sample(range(len(text) + 1), 4))
        e1, e2 = [cuts[0], cuts[1]], [cuts[2], cuts[3]]
        if rng.random() < 0.5:
            e1, e2 = e2, e1
        if not text[e1[0]:e1[1]].strip() or not text[e2[0]:e2[1]].strip():
            continue
        marked, m1, m2 = insert_markers_spans(text, e1, e2)
        # Each marker is a whitespace-separated token; no other token changes.
        tokens = marked.split()
        assert [t for t in tokens if t in ("[E1]", "[/E1]", "[E2]", "[/E2]")] == \
            (["[E1]", "[/E1]", "[E2]", "[/E2]"] if e1[0] < e2[0] else
             ["[E2]", "[/E2]", "[E1]", "[/E1]"])
        plain = [t for t in tokens if t not in ("[E1]", "[/E1]", "[E2]", "[/E2]")]
        assert "".join(plain) == "".join(text.split())
        for (s, e), (ms, me), (o, c) in ((e1, m1, ("[E1]", "[/E1]")),
                                         (e2, m2, ("[E2]", "[/E2]"))):
            inner = marked[ms:me]
            assert inner.startswith(o + " ") or inner.startswith(o + "\t")
            assert inner.endswith(c)
            assert inner[len(o):-len(c)].strip() == text[s:e].strip()
        assert not marked[:1].isspace() or text[:1].isspace()   # no space added at the edges
        assert not marked[-1:].isspace() or text[-1:].isspace()


def test_insert_markers_errors():
    with pytest.raises(ValueError, match=r"insert_markers: expected 4 non-empty marker strings "
                                         r"without surrounding spaces, got \('\[E1\]',\)"):
        insert_markers("ab", [0, 1], [1, 2], ("[E1]",))
    with pytest.raises(ValueError, match="insert_markers: expected 4 non-empty"):
        insert_markers("ab", [0, 1], [1, 2], ("[E1] ", "a", "b", "c"))
    with pytest.raises(ValueError, match="validate_spans: expected non-overlapping"):
        insert_markers("abc", [0, 2], [1, 3])

# ---------------------------------------------------------------- entity_safe_window


def brute_force_window(n, s1, s2, max_tokens):
    """The most centred window of length min(n, max_tokens) holding both spans (ties: the one
    whose left margin is smaller, i.e. an odd token goes right)."""
    length = min(n, max_tokens)
    lo, hi = min(s1[0], s2[0]), max(s1[1], s2[1])
    best = None
    for start in range(0, n - length + 1):
        end = start + length
        if start <= lo and hi <= end:
            key = (abs((lo - start) - (end - hi)), lo - start)
            if best is None or key < best[0]:
                best = (key, (start, end))
    return None if best is None else best[1]


def random_case(rng):
    n = rng.randint(2, 40)
    a, b = sorted(rng.sample(range(n + 1), 2))
    c, d = sorted(rng.sample(range(n + 1), 2))
    return n, [a, b], [c, d], rng.randint(1, 45)


def test_window_matches_brute_force_on_random_cases():
    rng = random.Random(1)
    checked = 0
    for _ in range(3000):
        n, s1, s2, max_tokens = random_case(rng)
        expected = brute_force_window(n, s1, s2, max_tokens)
        if expected is None:
            with pytest.raises(ValueError, match="entity_safe_window: expected both entities "
                                                 "within max_tokens"):
                entity_safe_window(n, s1, s2, max_tokens)
            continue
        start, end = entity_safe_window(n, s1, s2, max_tokens)
        assert (start, end) == expected, (n, s1, s2, max_tokens)
        assert end - start <= max_tokens and 0 <= start <= end <= n
        assert start <= min(s1[0], s2[0]) and max(s1[1], s2[1]) <= end
        assert entity_safe_window(n, s1, s2, max_tokens, squeeze=True) == list(range(start, end))
        checked += 1
    assert checked > 1000


def test_window_examples():
    assert entity_safe_window(10, [2, 3], [5, 6], 20) == (0, 10)          # fits: keep all
    assert entity_safe_window(100, [40, 43], [50, 52], 20) == (36, 56)    # 8 left, 8 right
    assert entity_safe_window(100, [40, 43], [50, 52], 21) == (36, 57)    # odd token: right
    assert entity_safe_window(100, [1, 3], [5, 8], 20) == (0, 20)         # left edge
    assert entity_safe_window(100, [95, 97], [98, 100], 20) == (80, 100)  # right edge
    assert entity_safe_window(100, [50, 52], [40, 43], 12) == (40, 52)    # e2 first, no room


def test_squeeze_drops_the_middle_of_the_gap():
    # e1 [2, 4), e2 [20, 23), budget 10: keep 2 + 3 entity tokens and 5 gap tokens,
    # 2 right after e1 and 3 right before e2; nothing outside [2, 23).
    kept = entity_safe_window(30, [2, 4], [20, 23], 10, squeeze=True)
    assert kept == [2, 3, 4, 5, 17, 18, 19, 20, 21, 22]
    assert reindex_span(kept, [2, 4]) == (0, 2) and reindex_span(kept, [20, 23]) == (7, 10)
    assert entity_safe_window(30, [20, 23], [2, 4], 5, squeeze=True) == [2, 3, 20, 21, 22]


def test_squeeze_random_cases_keep_both_entities_within_budget():
    rng = random.Random(2)
    for _ in range(2000):
        n, s1, s2, max_tokens = random_case(rng)
        first, second = sorted([s1, s2])
        overlap = first[1] > second[0]
        need = max(s1[1], s2[1]) - min(s1[0], s2[0])
        too_long = (need > max_tokens
                    and (overlap or (first[1] - first[0]) + (second[1] - second[0]) > max_tokens))
        if too_long:
            with pytest.raises(ValueError, match="entity_safe_window: expected"):
                entity_safe_window(n, s1, s2, max_tokens, squeeze=True)
            continue
        kept = entity_safe_window(n, s1, s2, max_tokens, squeeze=True)
        assert kept == sorted(set(kept)) and len(kept) == min(n, max_tokens)
        assert all(0 <= k < n for k in kept)
        for s, e in (s1, s2):
            assert set(range(s, e)) <= set(kept)
            assert reindex_span(kept, [s, e])[1] - reindex_span(kept, [s, e])[0] == e - s
        dropped_inside = [k for k in range(kept[0], kept[-1]) if k not in set(kept)]
        assert all(first[1] <= k < second[0] for k in dropped_inside)


@pytest.mark.parametrize("args, message", [
    ((10, [0, 2], [8, 10], 5), "expected both entities within max_tokens=5 tokens, got 10 "
                               "tokens from the start of the first (token 0) to the end of the "
                               "last (token 10); pass squeeze=True to drop tokens between them"),
    ((10, [0, 1], [2, 3], 0), "expected max_tokens an int >= 1, got 0"),
    ((-1, [0, 1], [2, 3], 4), "expected n_tokens an int >= 0, got -1"),
    ((5, [0, 1], [4, 6], 4), "expected e2_tok_span as [start, end) with 0 <= start < end <= 5, "
                             "got [4, 6]"),
    ((5, [3, 3], [4, 5], 4), "expected e1_tok_span as [start, end) with 0 <= start < end <= 5, "
                             "got [3, 3]"),
])
def test_window_errors(args, message):
    with pytest.raises(ValueError) as err:
        entity_safe_window(*args)
    assert str(err.value) == "entity_safe_window: " + message


def test_squeeze_errors():
    with pytest.raises(ValueError, match=r"entity_safe_window: expected the two entities to fit "
                                         r"max_tokens=4 even with squeeze=True, got 3 \+ 2 "
                                         r"tokens"):
        entity_safe_window(20, [0, 3], [10, 12], 4, squeeze=True)
    with pytest.raises(ValueError, match="entity_safe_window: expected overlapping entities to "
                                         "fit max_tokens=4, got 8 tokens from token 0 to 8"):
        entity_safe_window(20, [0, 6], [2, 8], 4, squeeze=True)


def test_reindex_span_window_and_errors():
    assert reindex_span((5, 15), [7, 9]) == (2, 4)
    with pytest.raises(ValueError, match=r"reindex_span: expected a non-empty span whose tokens "
                                         r"are all kept, got \[3, 6\]"):
        reindex_span([1, 2, 3, 5, 6], [3, 6])
