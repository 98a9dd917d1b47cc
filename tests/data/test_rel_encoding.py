"""Marked word pieces for relation classification, with the tiny ERNIE tokenizer and the four
entity markers added as special tokens."""
import pytest

from ernie_res.data.entity_markers import DEFAULT_MARKERS
from ernie_res.data.rel_encoding import encode_marked


@pytest.fixture(scope="module")
def tok_and_markers(tiny_ernie):
    from ernie_res.models.backbone import add_marker_tokens, load_backbone

    encoder, tokenizer = load_backbone(str(tiny_ernie))       # our own copy: it is changed
    ids, _ = add_marker_tokens(encoder, tokenizer, DEFAULT_MARKERS)
    return tokenizer, ids


def pieces(tok, text):
    return tok.convert_tokens_to_ids(tok.tokenize(text))


def span(text, part, start=0):
    i = text.index(part, start)
    return (i, i + len(part))


def encode(tok_and_markers, text, e1, e2, max_seq_len=64):
    tok, ids = tok_and_markers
    return encode_marked(tok, text, e1, e2, DEFAULT_MARKERS, ids, max_seq_len)


def test_markers_sit_around_the_entities(tok_and_markers):
    tok, (m1, m1e, m2, m2e) = tok_and_markers
    text = "The audits were about zyxquv waste."
    ids, e1, e2, truncated = encode(tok_and_markers, text, span(text, "audits"),
                                    span(text, "zyxquv waste"))
    assert not truncated
    assert ids == ([tok.cls_token_id] + pieces(tok, "The") + [m1] + pieces(tok, "audits")
                   + [m1e] + pieces(tok, "were about") + [m2] + pieces(tok, "zyxquv waste")
                   + [m2e] + pieces(tok, ".") + [tok.sep_token_id])
    assert (ids[e1[0]], ids[e1[1]], ids[e2[0]], ids[e2[1]]) == (m1, m1e, m2, m2e)
    assert ids[e2[0] + 1:e2[1]] == pieces(tok, "zyxquv waste")


def test_second_entity_first_in_the_text(tok_and_markers):
    tok, (m1, m1e, m2, m2e) = tok_and_markers
    text = "puck hit the goalie"
    ids, e1, e2, _ = encode(tok_and_markers, text, span(text, "goalie"), span(text, "puck"))
    assert e2[0] == 1 and e2[1] < e1[0]
    assert (ids[e1[0]], ids[e1[1]], ids[e2[0]], ids[e2[1]]) == (m1, m1e, m2, m2e)
    assert ids[e1[0] + 1:e1[1]] == pieces(tok, "goalie")


def test_truncation_keeps_both_entities_and_context_around_them(tok_and_markers):
    tok, marker_ids = tok_and_markers
    left, right = " ".join(["the"] * 30), " ".join(["puck"] * 30)
    text = f"{left} the audits were about waste {right}"
    e1, e2 = span(text, "audits"), span(text, "waste")
    full, f1, f2, _ = encode(tok_and_markers, text, e1, e2, max_seq_len=200)
    ids, s1, s2, truncated = encode(tok_and_markers, text, e1, e2, max_seq_len=20)
    assert truncated and len(ids) == 20
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert [ids[p] for p in (s1[0], s1[1], s2[0], s2[1])] == marker_ids
    assert ids[s1[0]:s2[1] + 1] == full[f1[0]:f2[1] + 1]          # the entities, whole
    start = f1[0] - s1[0]                                          # a window of the full ids
    assert ids[1:-1] == full[start + 1:start + 19]
    before, after = s1[0] - 1, 18 - (s2[1] - 1) - 1                # context kept each side
    assert abs(before - after) <= 1 and before > 0


def test_entities_farther_apart_than_the_budget_are_squeezed_together(tok_and_markers):
    tok, marker_ids = tok_and_markers
    gap = " ".join(["the"] * 40)
    text = f"puck audits {gap} waste puck"
    ids, s1, s2, truncated = encode(tok_and_markers, text, span(text, "audits"),
                                    span(text, "waste"), max_seq_len=16)
    assert truncated and len(ids) == 16
    assert [ids[p] for p in (s1[0], s1[1], s2[0], s2[1])] == marker_ids
    assert s1[0] == 1 and s2[1] == 14                              # no outside context
    assert ids[s1[0] + 1:s1[1]] == pieces(tok, "audits")
    assert ids[s2[0] + 1:s2[1]] == pieces(tok, "waste")
    assert set(ids[s1[1] + 1:s2[0]]) == set(pieces(tok, "the"))   # the thinned gap


def test_entities_too_long_for_the_budget_raise_with_the_max_seq_len_hint(tok_and_markers):
    text = "zyxquv zyxquv zyxquv and boston boston boston"
    with pytest.raises(ValueError, match=r"raise Data.max_seq_len \(now 12\)$"):
        encode(tok_and_markers, text, span(text, "zyxquv zyxquv zyxquv"),
               span(text, "boston boston boston"), max_seq_len=12)


def test_bad_spans_raise(tok_and_markers):
    with pytest.raises(ValueError):
        encode(tok_and_markers, "short text", (0, 5), (3, 8))      # overlapping entities
    with pytest.raises(ValueError):
        encode(tok_and_markers, "short text", (0, 5), (6, 99))     # past the end
