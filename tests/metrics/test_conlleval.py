"""conlleval metric: hand cases whose counts are worked out in the comments, and a brute-force
check that chunk counting equals exact (type, start, end) matching of spans."""
import random

import pytest

from ernie_res.data.errors import DataFormatError
from ernie_res.data.tagging import convert_tags, spans
from ernie_res.metrics.conlleval import ConllEvalMetric, conlleval_lines


def score(pred, gold):
    metric = ConllEvalMetric()
    metric.update(pred, gold)
    return metric


def counts(metric):
    return (sum(metric.correct_chunks.values()), sum(metric.pred_chunks.values()),
            sum(metric.gold_chunks.values()))


def test_iob1_starts_and_b_between_adjacent_entities():
    # gold chunks PER[0,2) LOC[3,4) LOC[4,5); predicted PER[0,2) LOC[3,5): 1 correct.
    gold = [["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "O"]]
    pred = [["I-PER", "I-PER", "O", "I-LOC", "I-LOC", "O"]]
    m = score(pred, gold)
    assert counts(m) == (1, 2, 3)
    r = m.accumulate()
    assert r["precision"] == pytest.approx(50.0)
    assert r["recall"] == pytest.approx(100 / 3)
    assert r["f1"] == pytest.approx(40.0)                 # 2 * 50 * 33.3 / 83.3
    assert r["accuracy"] == pytest.approx(500 / 6)         # token 4 differs
    assert r["f1_PER"] == pytest.approx(100.0)
    assert r["f1_LOC"] == pytest.approx(0.0)


def test_type_change_mid_chunk_splits_it():
    # predicted B-PER I-LOC is PER[0,1) + LOC[1,2), neither equals gold PER[0,2).
    m = score([["B-PER", "I-LOC"]], [["B-PER", "I-PER"]])
    assert counts(m) == (0, 2, 1)
    assert m.accumulate()["f1"] == 0.0
    assert m.accumulate()["accuracy"] == pytest.approx(50.0)


@pytest.mark.parametrize("pred", [["B-ORG", "I-ORG", "O", "O"],        # ends one early
                                  ["O", "B-ORG", "I-ORG", "O"],        # starts one late
                                  ["B-ORG", "I-ORG", "I-ORG", "I-ORG"]])  # ends one late
def test_boundaries_off_by_one_are_wrong(pred):
    m = score([pred], [["B-ORG", "I-ORG", "I-ORG", "O"]])
    assert counts(m) == (0, 1, 1)


def test_chunk_ending_at_sentence_end_and_sentence_boundary():
    m = score([["O", "B-MISC", "I-MISC"]], [["O", "B-MISC", "I-MISC"]])
    assert counts(m) == (1, 1, 1)
    assert m.accumulate()["f1"] == 100.0
    # B-PER | I-PER across a sentence boundary is two chunks, not one.
    m = score([["B-PER"], ["I-PER"]], [["B-PER"], ["I-PER"]])
    assert counts(m) == (2, 2, 2)


def test_no_predicted_chunks_gives_zero_precision():
    m = score([["O", "O"]], [["B-PER", "O"]])
    assert counts(m) == (0, 0, 1)
    r = m.accumulate()
    assert (r["precision"], r["recall"], r["f1"], r["accuracy"]) == (0.0, 0.0, 0.0, 50.0)


def test_all_o_sentences_and_empty_metric():
    r = score([["O", "O"], ["O"]], [["O", "O"], ["O"]]).accumulate()
    assert r == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "accuracy": 100.0}
    empty = ConllEvalMetric()
    assert empty.accumulate() == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "accuracy": 0.0}
    assert empty.report() == "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0."


def test_bioes_tags():
    # gold S-PER S-PER is two chunks; predicted B-PER E-PER is one covering both: none right.
    assert counts(score([["B-PER", "E-PER"]], [["S-PER", "S-PER"]])) == (0, 1, 2)
    # B-LOC E-LOC S-LOC: LOC[0,2) and LOC[2,3), both found.
    assert counts(score([["B-LOC", "E-LOC", "S-LOC"]], [["B-LOC", "E-LOC", "S-LOC"]])) == (2, 2, 2)
    # E-PER then I-PER starts a new chunk: gold PER[0,2) PER[2,3); predicted PER[0,3).
    assert counts(score([["B-PER", "I-PER", "I-PER"]], [["B-PER", "E-PER", "I-PER"]])) == (0, 1, 2)


SENTENCES = [  # (word, gold, pred)
    [("EU", "B-ORG", "B-ORG"), ("rejects", "O", "O"), ("German", "B-MISC", "B-MISC"),
     ("call", "O", "O"), ("to", "O", "O"), ("boycott", "O", "O"),
     ("British", "B-MISC", "B-LOC"), ("lamb", "O", "O")],
    [("Peter", "B-PER", "B-PER"), ("Blackburn", "I-PER", "O")],
    [("BRUSSELS", "B-LOC", "B-LOC"), ("1996-08-22", "O", "O")],
]
# gold: ORG 1, MISC 2, PER 1, LOC 1 = 5; predicted: ORG 1, MISC 1, LOC 2, PER 1 = 5;
# correct: ORG, MISC (German), LOC (BRUSSELS) = 3; tokens 12, wrong tags 2 (British, Blackburn).
REPORT = """processed 12 tokens with 5 phrases; found: 5 phrases; correct: 3.
accuracy:  83.33%; precision:  60.00%; recall:  60.00%; FB1:  60.00
              LOC: precision:  50.00%; recall: 100.00%; FB1:  66.67  2
             MISC: precision: 100.00%; recall:  50.00%; FB1:  66.67  1
              ORG: precision: 100.00%; recall: 100.00%; FB1: 100.00  1
              PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1"""


def test_multi_type_report_matches_conlleval_layout():
    m = ConllEvalMetric()
    for sent in SENTENCES:   # one update per sentence: counts accumulate across calls
        m.update([[p for _, _, p in sent]], [[g for _, g, _ in sent]])
    r = m.accumulate()
    assert r == pytest.approx({"precision": 60.0, "recall": 60.0, "f1": 60.0,
                               "accuracy": 1000 / 12, "f1_LOC": 200 / 3, "f1_MISC": 200 / 3,
                               "f1_ORG": 100.0, "f1_PER": 0.0})
    assert m.report() == REPORT
    m.reset()
    assert m.accumulate()["f1"] == 0.0 and m.tokens == 0


def test_conlleval_lines_scores_a_file_like_conlleval():
    lines = ["-DOCSTART- -X- O O", ""]
    for sent in SENTENCES:
        lines += [f"{w} NNP {g} {p}" for w, g, p in sent] + [""]
    m = conlleval_lines(lines)
    # the -DOCSTART- line is a token (O/O, right), as in conlleval: 13 tokens, 11 right.
    assert counts(m) == (3, 5, 5)
    assert m.accumulate()["accuracy"] == pytest.approx(1100 / 13)
    assert m.report().splitlines()[0] == ("processed 13 tokens with 5 phrases; found: 5 phrases; "
                                          "correct: 3.")
    # "-X-" lines separate sentences too, and no trailing blank line is needed.
    m = conlleval_lines(["a x B-PER B-PER\n", "-X- -X- O O\n", "b x I-PER I-PER\n"])
    assert counts(m) == (2, 2, 2) and m.tokens == 2


def test_chunk_counting_equals_span_matching_on_random_sequences():
    rng = random.Random(0)
    alphabet = ["O", "O", "O"] + [f"{p}-{t}" for p in "BIES" for t in ("A", "C")]
    for _ in range(400):
        n = rng.randint(0, 8)
        gold = [rng.choice(alphabet) for _ in range(n)]
        pred = [g if rng.random() < 0.6 else rng.choice(alphabet) for g in gold]
        m = score([pred], [gold])
        g, p = set(spans(gold, "BIOES")), set(spans(pred, "BIOES"))
        assert counts(m) == (len(g & p), len(p), len(g)), (gold, pred)
        for kind in ("A", "C"):
            assert m.correct_chunks[kind] == len({s for s in g & p if s[0] == kind})


def test_update_errors():
    m = ConllEvalMetric()
    with pytest.raises(ValueError, match=r"ConllEvalMetric: expected as many predicted as gold "
                                         r"sentences, got 1 and 2"):
        m.update([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match=r"ConllEvalMetric: sentence 1: expected 2 predicted "
                                         r"tags \(one per gold tag\), got 1"):
        m.update([["O"], ["O"]], [["O"], ["O", "B-PER"]])
    with pytest.raises(ValueError, match=r"sentence 0: expected str tags, got 3"):
        m.update([[3]], [["O"]])
    assert m.tokens == 0   # a rejected batch leaves no partial counts


def test_conlleval_lines_errors():
    with pytest.raises(DataFormatError, match=r"^out.txt:3: expected 4 fields like the first "
                                              r"token line, got 3$"):
        conlleval_lines(["a x O O", "", "b O O"], path="out.txt")
    with pytest.raises(DataFormatError, match=r"^<lines>:1: expected at least 2 fields "
                                              r"\(\.\.\. gold predicted\), got 1$"):
        conlleval_lines(["a"])


def test_scheme_conversion_does_not_change_entity_scores():
    rng = random.Random(1)
    alphabet = ["O", "O"] + [f"{p}-{t}" for p in "BIES" for t in ("A", "C")]
    for _ in range(200):
        gold = [rng.choice(alphabet) for _ in range(rng.randint(1, 8))]
        for dst in ("IOB1", "IOB2", "BIOES"):
            m = score([convert_tags(gold, "BIOES", dst)], [gold])
            n = len(spans(gold, "BIOES"))
            assert counts(m) == (n, n, n), (gold, dst)


# ------------------------------------------------------------------ WindowedConllMetric
WLABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
WID = {t: i for i, t in enumerate(WLABELS)}


def ids(tags):
    return [WID[t] for t in tags.split()]


def windowed():
    """Sentence 0 (6 words) from two overlapping windows; sentence 1 from one window.

    Window A covers words 0-4 and decides 0-2; window B covers words 2-5 and decides 3-5.
    Words 3 and 4 are also in window A with other predictions, which must be ignored."""
    from ernie_res.metrics.conlleval import WindowedConllMetric

    m = WindowedConllMetric(WLABELS)
    m.add_window(index=0, n_words=6, offset=0, score=(0, 3),
                 pred_ids=ids("B-PER I-PER O O O"), gold_ids=ids("B-PER I-PER O B-LOC I-LOC"))
    m.add_window(index=1, n_words=2, offset=0, score=(0, 2),
                 pred_ids=ids("B-LOC O"), gold_ids=ids("B-PER O"))
    m.add_window(index=0, n_words=6, offset=2, score=(1, 4),
                 pred_ids=ids("I-PER B-LOC I-LOC O"), gold_ids=ids("O B-LOC I-LOC O"))
    return m


SENT0_PRED = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]
SENT0_GOLD = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]


def test_windows_assemble_the_sentence():
    m = windowed()
    assert m.sentences() == [0, 1]
    assert m.predicted_tags(0) == SENT0_PRED        # word 2 from A (not B's I-PER)
    assert m.predicted_tags(1) == ["B-LOC", "O"]
    assert m.predicted_tags(7) == []
    m.accumulate()                                  # scored sentences keep their tags
    assert m.sentences() == [0, 1] and m.predicted_tags(0) == SENT0_PRED


def test_windowed_scores_equal_conlleval_on_the_assembled_sentences():
    m = windowed()
    plain = score([SENT0_PRED, ["B-LOC", "O"]], [SENT0_GOLD, ["B-PER", "O"]])
    got = m.accumulate()
    want = plain.accumulate()
    assert {k: got[k] for k in want} == pytest.approx(want)
    assert m.report() == plain.report()
    assert m.accumulate() == got                    # accumulating again counts nothing twice
    # PER: 1 right of 1 predicted, 2 gold; LOC: 1 right of 2 predicted, 1 gold
    assert set(got) - set(want) == {"precision_PER", "recall_PER", "precision_LOC",
                                    "recall_LOC"}
    assert (got["precision_PER"], got["recall_PER"]) == pytest.approx((100.0, 50.0))
    assert (got["precision_LOC"], got["recall_LOC"]) == pytest.approx((50.0, 100.0))
    assert got["f1"] == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3) * 100)


def test_windowed_reset_and_a_sentence_with_an_undecided_word():
    from ernie_res.metrics.conlleval import WindowedConllMetric

    m = windowed()
    m.reset()
    assert m.sentences() == [] and m.accumulate()["f1"] == 0.0
    m = WindowedConllMetric(WLABELS)
    m.add_window(index=0, n_words=3, offset=0, score=(0, 2), pred_ids=[0, 0, 0],
                 gold_ids=[0, 0, 0])
    assert m.predicted_tags(0) == ["O", "O", None]
    with pytest.raises((AssertionError, ValueError), match="without a prediction"):
        m.accumulate()
