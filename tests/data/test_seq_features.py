"""Tagging features with the tiny ERNIE tokenizer: windows of word pieces, the first piece of
each word, document context on both sides, and the error for an unknown gold tag."""
import pytest

from ernie_res.data.seq_features import context_pieces, window_features, word_pieces

TAGS = {"O": 0, "B-PER": 1, "I-PER": 2, "B-LOC": 3}


@pytest.fixture(scope="module")
def tok(tiny_ernie):
    from ernie_res.models.backbone import load_backbone

    return load_backbone(str(tiny_ernie))[1]


def pieces_of(tok, word):
    ids = tok.convert_tokens_to_ids(tok.tokenize(word))
    return ids or [tok.unk_token_id]


def sent(sid, words, doc="d1", tags=None):
    ex = {"id": sid, "words": words.split(), "doc_id": doc}
    ex["tags"] = tags.split() if tags else ["O"] * len(ex["words"])
    return ex


def check_window(tok, ex, f, max_seq_len):
    """The window's ids, first-piece positions and labels agree with the sentence."""
    ids, wi = f["input_ids"], f["word_index"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert len(ids) <= max_seq_len
    assert len(wi) == len(f["labels"]) and wi == sorted(set(wi))
    for j, pos in enumerate(wi):
        word = ex["words"][f["offset"] + j]
        expected = pieces_of(tok, word)
        end = wi[j + 1] if j + 1 < len(wi) else pos + len(expected)
        assert ids[pos] == expected[0], (word, j)                 # the first piece
        assert ids[pos:end] == expected[:end - pos]                # then the others, in order
        assert f["labels"][j] == TAGS[ex["tags"][f["offset"] + j]]


def test_short_sentences_one_window_each_without_context(tok):
    exs = [sent("s0", "the goalie stopped zyxquv", tags="O B-PER O B-LOC"),
           sent("s1", "boston puck", tags="B-LOC O")]
    feats, n_split = window_features(exs, tok, TAGS, 32, context="none")
    assert n_split == 0 and [f["index"] for f in feats] == [0, 1]
    for ex, f in zip(exs, feats):
        check_window(tok, ex, f, 32)
        flat = [t for w in ex["words"] for t in pieces_of(tok, w)]
        assert f["input_ids"] == [tok.cls_token_id] + flat + [tok.sep_token_id]
        assert (f["offset"], f["score"], f["n_words"]) == (0, (0, len(ex["words"])),
                                                           len(ex["words"]))
    starts = [1]
    for w in exs[0]["words"][:-1]:
        starts.append(starts[-1] + len(pieces_of(tok, w)))
    assert feats[0]["word_index"] == starts and starts[-1] > 4       # multi-piece words
    assert feats[0]["labels"] == [0, 1, 0, 3]


def test_a_word_without_pieces_still_gets_one_unk_slot(tok):
    ex = sent("s0", "the \u200b puck")
    assert word_pieces(tok, ex["words"]) == [pieces_of(tok, "the"), [tok.unk_token_id],
                                             pieces_of(tok, "puck")]
    feats, _ = window_features([ex], tok, TAGS, 16, context="none")
    assert feats[0]["word_index"] == [1, 2, 3]
    assert feats[0]["input_ids"][2] == tok.unk_token_id


@pytest.mark.parametrize("stride", [0, 1, 3])
def test_every_word_is_scored_in_exactly_one_window(tok, stride):
    words = " ".join(["the goalie zyxquv stopped boston puck"] * 4)    # 24 words, 64 pieces
    exs = [sent("long", words), sent("short", "the puck")]
    max_seq_len = 14
    feats, n_split = window_features(exs, tok, TAGS, max_seq_len, stride_words=stride)
    assert n_split == 1
    long_windows = [f for f in feats if f["index"] == 0]
    assert len(long_windows) > 2
    scored = []
    for f in long_windows:
        check_window(tok, exs[0], f, max_seq_len)
        lo, hi = f["score"]
        assert 0 <= lo <= hi <= len(f["word_index"])
        scored += range(f["offset"] + lo, f["offset"] + hi)
        assert f["n_words"] == 24
    assert scored == list(range(24))                               # once each, in order
    offsets = [f["offset"] for f in long_windows]
    assert offsets == sorted(set(offsets))
    assert any(f["offset"] + len(f["word_index"]) > g["offset"]      # the windows overlap
               for f, g in zip(long_windows, long_windows[1:]))


def test_long_word_is_cut_to_the_budget_and_keeps_its_first_piece(tok):
    ex = sent("s", "zyxquvzyxquvzyxquv the")                        # 18 pieces
    feats, _ = window_features([ex], tok, TAGS, 8, context="none")
    assert all(len(f["input_ids"]) <= 8 for f in feats)
    first = [f for f in feats if f["offset"] == 0][0]
    assert first["input_ids"][first["word_index"][0]] == pieces_of(tok, "z")[0]
    assert sorted(f["offset"] + j for f in feats for j in range(*f["score"])) == [0, 1]


def doc_sentences():
    return [sent("a0", "the goalie stopped the puck boston"),
            sent("a1", "zyxquv zyxquv zyxquv zyxquv"),
            sent("a2", "john smith went to boston today", tags="B-PER I-PER O O B-LOC O"),
            sent("a3", "space shuttle orbit zyxquv zyxquv"),
            sent("a4", "the puck the goalie"),
            sent("b0", "hello world", doc="d2")]


def flat(tok, exs):
    return [t for ex in exs for w in ex["words"] for t in pieces_of(tok, w)]


def test_document_context_fills_the_budget_from_both_sides(tok):
    exs = doc_sentences()
    max_seq_len = 20
    feats, _ = window_features(exs, tok, TAGS, max_seq_len)
    by_index = {f["index"]: f for f in feats}
    f = by_index[2]                                                # a2, in the middle
    check_window(tok, exs[2], f, max_seq_len)
    centre = flat(tok, exs[2:3])
    room = max_seq_len - 2 - len(centre)
    left = f["word_index"][0] - 1
    assert len(f["input_ids"]) == max_seq_len                      # the budget is filled
    assert left == room // 2                                       # split evenly
    assert f["input_ids"][1:1 + left] == flat(tok, exs[:2])[-left:]          # the end of a1
    assert f["input_ids"][1 + left:1 + left + len(centre)] == centre
    right = f["input_ids"][1 + left + len(centre):-1]
    assert len(right) == room - left and right == flat(tok, exs[3:5])[:len(right)]
    assert context_pieces(exs, [word_pieces(tok, e["words"]) for e in exs], 2, room) == \
        (flat(tok, exs[:2])[-left:], right)


def test_document_context_takes_more_from_the_side_that_has_it(tok):
    exs = doc_sentences()
    feats, _ = window_features(exs, tok, TAGS, 20)
    by_index = {f["index"]: f for f in feats}
    first = by_index[0]                                            # nothing before it
    assert first["word_index"][0] == 1 and len(first["input_ids"]) == 20
    centre = flat(tok, exs[:1])
    assert first["input_ids"][1 + len(centre):-1] == flat(tok, exs[1:5])[:18 - len(centre)]
    last = by_index[4]                                             # the last of document d1
    centre = flat(tok, exs[4:5])
    assert len(last["input_ids"]) == 20
    assert last["input_ids"][-1 - len(centre):-1] == centre        # no right context ...
    assert last["input_ids"][1:-1 - len(centre)] == flat(tok, exs[:4])[-(18 - len(centre)):]
    other = by_index[5]                                            # ... and none from d1
    assert other["input_ids"] == [tok.cls_token_id] + flat(tok, exs[5:]) + [tok.sep_token_id]


def test_no_context_for_a_sentence_split_into_windows(tok):
    exs = [sent("x0", "the goalie"), sent("x1", " ".join(["zyxquv"] * 6)),
           sent("x2", "the puck")]
    feats, n_split = window_features(exs, tok, TAGS, 16)
    assert n_split == 1
    for f in (f for f in feats if f["index"] == 1):
        assert f["word_index"][0] == 1 and len(f["input_ids"]) == 2 + 6 * len(f["word_index"])


def test_without_gold_tags_labels_are_zero(tok):
    ex = {"id": "raw", "words": ["the", "puck"]}
    feats, _ = window_features([ex], tok, TAGS, 16)
    assert feats[0]["labels"] == [0, 0]


def test_unknown_gold_tag_names_the_example(tok):
    exs = [sent("fine", "the puck"), sent("doc3-s7", "john smith", tags="B-PER I-ORG")]
    with pytest.raises(ValueError, match=r"SEQ: doc3-s7 has tag 'I-ORG', which is not among "
                                         r"the training tags \['O', 'B-PER', 'I-PER', 'B-LOC'\]"):
        window_features(exs, tok, TAGS, 16)
