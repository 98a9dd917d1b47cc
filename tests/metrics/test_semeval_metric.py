"""The official SemEval-2010 Task 8 score: hand-worked cases, the scorer's own bookkeeping
re-done step by step on random data, the answer-file format."""
import random

import numpy as np
import pytest

from ernie_res.data.semeval import LABELS, RELATIONS, read_key
from ernie_res.metrics.semeval import (SemEvalMetric, score_answer_file, short_name,
                                       write_answer_file)

CE1, CE2 = "Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)"
CW1, CW2 = "Component-Whole(e1,e2)", "Component-Whole(e2,e1)"
CC1 = "Content-Container(e1,e2)"
MT1, MT2 = "Message-Topic(e1,e2)", "Message-Topic(e2,e1)"

# (gold, predicted)
HAND = [
    (CE1, CE1),       # 1 right
    (CE1, CE2),       # 2 right relation, wrong direction: wrong, and counts in CE's precision
    (CE2, CE2),       # 3 right
    (CW1, "Other"),   # 4 missed
    (CW2, CW2),       # 5 right
    ("Other", CE1),   # 6 false alarm for CE
    ("Other", "Other"),  # 7 right, but Other is never averaged
    ("Other", MT1),   # 8 Message-Topic is predicted but never in the gold labels
    (CC1, MT2),       # 9 wrong relation
]


def scored(pairs):
    metric = SemEvalMetric()
    metric.update([p for _, p in pairs], [g for g, _ in pairs])
    return metric


def test_hand_worked_example():
    m = scored(HAND).accumulate()
    # Cause-Effect: TP = 2 (#1, #3); predicted CE in any direction: #1 #2 #3 #6 = 4 -> P = 1/2;
    #   gold CE: #1 #2 #3 = 3 -> R = 2/3; F1 = 2 (1/2)(2/3) / (1/2 + 2/3) = 4/7.
    # Component-Whole: TP = 1 (#5); predicted: #5 -> P = 1; gold: #4 #5 -> R = 1/2; F1 = 2/3.
    # Content-Container: TP = 0, nothing predicted -> P = 0; gold #9 -> R = 0; F1 = 0.
    # Message-Topic: predicted twice (#8, #9) but absent from the gold labels: not averaged.
    # Relations in the gold labels: CE, CW, CC -> divide by 3.
    assert m["macro_f1"] == pytest.approx(100 * (4 / 7 + 2 / 3 + 0) / 3, abs=1e-12)   # 41.27
    assert m["macro_p"] == pytest.approx(100 * (1 / 2 + 1 + 0) / 3, abs=1e-12)        # 50.00
    assert m["macro_r"] == pytest.approx(100 * (2 / 3 + 1 / 2 + 0) / 3, abs=1e-12)    # 38.89
    # 19-way accuracy: #1 #3 #5 #7 right out of 9.
    assert m["accuracy"] == pytest.approx(100 * 4 / 9, abs=1e-12)
    assert m["f1_Cause-Effect"] == pytest.approx(400 / 7, abs=1e-12)
    assert m["f1_Component-Whole"] == pytest.approx(200 / 3, abs=1e-12)
    assert m["f1_Content-Container"] == 0.0 and m["f1_Message-Topic"] == 0.0
    assert m["f1_Product-Producer"] == 0.0       # never seen anywhere
    assert set(m) == {"macro_f1", "macro_p", "macro_r", "accuracy"} | {f"f1_{r}"
                                                                       for r in RELATIONS}
    # Not the F1 of the averaged P and R (that would be 43.75), and not the pre-v1.2 score that
    # left wrong directions out of the precision (CE P = 2/3 -> F1 = 2/3 -> 44.44).
    assert abs(m["macro_f1"] - 2 * 50 * (350 / 9) / (50 + 350 / 9)) > 1
    assert abs(m["macro_f1"] - 100 * (2 / 3 + 2 / 3) / 3) > 1


def test_relations_sum_in_the_scorer_order():
    # The scorer sums per-relation scores over its sorted label names; so do we.
    assert list(RELATIONS) == sorted(RELATIONS)


def test_per_relation_counts():
    rows = scored(HAND).per_relation()
    assert rows["Cause-Effect"] == {"tp": 2, "pred": 4, "wrong_dir": 1, "gold": 3, "p": 50.0,
                                    "r": pytest.approx(200 / 3), "f1": pytest.approx(400 / 7)}
    assert (rows["Message-Topic"]["pred"], rows["Message-Topic"]["gold"]) == (2, 0)


def test_all_correct_is_100_and_all_other_is_0():
    gold = [CE1, CE2, CW1, MT2, "Other", CC1, "Other"]
    metric = SemEvalMetric()
    metric.update(gold, gold)
    m = metric.accumulate()
    # Only 5 of the 9 relations occur: the others are not averaged in, so the score is 100.
    assert m["macro_f1"] == 100.0 and m["macro_p"] == 100.0 and m["macro_r"] == 100.0
    assert m["accuracy"] == 100.0
    metric.reset()
    metric.update(["Other"] * len(gold), gold)
    m = metric.accumulate()
    assert m["macro_f1"] == 0.0 and m["macro_p"] == 0.0 and m["macro_r"] == 0.0
    assert m["accuracy"] == pytest.approx(100 * 2 / 7)


def test_wrong_direction_only_scores_zero():
    m = scored([(CE1, CE2), (CE2, CE1)]).accumulate()
    assert m["macro_f1"] == 0.0 and m["accuracy"] == 0.0


def test_only_other_in_gold_and_empty_metric_give_zero():
    # The Perl scorer divides by zero here; we return 0.
    assert scored([("Other", CE1), ("Other", "Other")]).accumulate()["macro_f1"] == 0.0
    m = SemEvalMetric().accumulate()
    assert m["macro_f1"] == 0.0 and m["accuracy"] == 0.0


def official_scorer_steps(pairs):
    """Re-does the bookkeeping of semeval2010_task8_scorer-v1.2.pl, evaluation (iii): a
    confusion table keyed by (proposed, answer) with a WRONG_DIR row, 'proposed' counts that
    exclude wrong directions, which are then added back to the precision denominator."""
    def strip(label):
        return label.split("(")[0]
    conf, proposed, answer = {}, {}, {}
    for gold, pred in pairs:
        gp, pp = strip(gold), strip(pred)
        if pred == gold:
            key = (pp, gp)
        elif pp == gp:
            key = ("WRONG_DIR", gp)
        else:
            key = (pp, gp)
        conf[key] = conf.get(key, 0) + 1
        proposed[key[0]] = proposed.get(key[0], 0) + 1
        answer[gp] = answer.get(gp, 0) + 1
    macro = {"p": 0.0, "r": 0.0, "f1": 0.0}
    for label in sorted(answer):
        if label == "Other":
            continue
        wrong = conf.get(("WRONG_DIR", label), 0)
        tp = conf.get((label, label), 0)
        n_prop = proposed.get(label, 0)
        p = 0 if n_prop == 0 else 100.0 * tp / (n_prop + wrong)
        r = 0 if answer[label] == 0 else 100.0 * tp / answer[label]
        f1 = 0 if p + r == 0 else 2 * p * r / (p + r)
        macro["p"] += p
        macro["r"] += r
        macro["f1"] += f1
    n = len([label for label in answer if label != "Other"])
    return {k: v / n for k, v in macro.items()}


def test_matches_the_scorer_bookkeeping_exactly_on_random_data():
    rng = random.Random(0)
    for trial in range(60):
        n = rng.randint(1, 120)
        labels = rng.sample(LABELS, rng.randint(2, 19))     # some relations never occur
        gold = [rng.choice(labels) for _ in range(n)]
        pred = [g if rng.random() < 0.5 else rng.choice(LABELS) for g in gold]
        if rng.random() < 0.3:                               # many wrong directions
            pred = [p[:-7] + ("(e2,e1)" if p.endswith("(e1,e2)") else "(e1,e2)")
                    if p != "Other" and rng.random() < 0.5 else p for p in pred]
        if all(g == "Other" for g in gold):
            continue
        metric = SemEvalMetric()
        for k in range(0, n, 7):                             # several batches
            metric.update(pred[k:k + 7], gold[k:k + 7])
        expected = official_scorer_steps(list(zip(gold, pred)))
        m = metric.accumulate()
        assert m["macro_f1"] == expected["f1"], trial        # bit-identical arithmetic
        assert m["macro_p"] == expected["p"] and m["macro_r"] == expected["r"]
        assert m["accuracy"] == pytest.approx(100 * np.mean([g == p for g, p in
                                                             zip(gold, pred)]))


def test_ids_numpy_and_confusion_matrix():
    metric = SemEvalMetric()
    pred = [LABELS.index(p) for _, p in HAND]
    gold = np.array([LABELS.index(g) for g, _ in HAND])
    metric.update(np.array(pred), gold)
    assert metric.accumulate() == scored(HAND).accumulate()
    cm = metric.confusion_matrix()
    assert cm.shape == (19, 19) and cm.sum() == 9 and metric.labels == list(LABELS)
    assert cm[LABELS.index(CE1), LABELS.index(CE2)] == 1      # rows gold, columns predicted
    assert cm[0, LABELS.index(MT1)] == 1 and np.trace(cm) == 4


def test_update_errors():
    metric = SemEvalMetric()
    with pytest.raises(ValueError, match="SemEvalMetric: expected as many predictions as gold "
                                         "labels, got 2 and 1"):
        metric.update([CE1, CE1], [CE1])
    with pytest.raises(ValueError, match=r"SemEvalMetric: expected gold_labels as SemEval label "
                                         r"names or ids, got 'Cause-Effect' at position 1"):
        metric.update([CE1, CE1], [CE1, "Cause-Effect"])
    with pytest.raises(ValueError, match=r"SemEvalMetric: expected pred_labels ids in \[0, 19\), "
                                         r"got 19 at position 0"):
        metric.update([19], [0])
    with pytest.raises(ValueError, match="expected pred_labels as SemEval label names or ids, "
                                         "got True"):
        metric.update([True], [0])
    assert metric.confusion_matrix().sum() == 0             # nothing half-added


def test_report_has_table_and_matrix():
    text = scored(HAND).report()
    assert "Cause-Effect           2     4(   1)     3   50.00   66.67   57.14" in text
    assert "Message-Topic          0     2(   0)     0    0.00    0.00    0.00  (not in gold, " \
           "not averaged)" in text
    assert "macro-averaged over 3 relations (excluding Other): P = 50.00%  R = 38.89%  " \
           "F1 = 41.27%" in text
    assert "19-way accuracy = 4/9 = 44.44%" in text
    header = [line for line in text.split("\n") if line.strip().startswith("_O_")][0]
    assert header.split()[:3] == ["_O_", "C-E1", "C-E2"] and header.split()[-1] == "SUM"
    assert len(text.split("\n")) == 2 + 9 + 3 + 1 + 19 + 1
    assert [short_name(x) for x in (CE2, "Entity-Origin(e1,e2)", "Other")] == \
        ["C-E2", "E-O1", "_O_"]


def test_write_answer_file_and_score_it(tmp_path):
    path = tmp_path / "out" / "answer.txt"
    ids = [8001 + i for i in range(len(HAND))]
    write_answer_file(str(path), ids, [p for _, p in HAND])
    data = path.read_bytes()
    assert data.startswith(b"8001\tCause-Effect(e1,e2)\n8002\tCause-Effect(e2,e1)\n")
    assert data.endswith(b"8009\tMessage-Topic(e2,e1)\n") and b"\r" not in data
    assert data.count(b"\n") == len(HAND)
    assert read_key(str(path)) == {str(i): p for i, (_, p) in zip(ids, HAND)}
    key = tmp_path / "key.txt"
    write_answer_file(str(key), [str(i) for i in ids], [LABELS.index(g) for g, _ in HAND])
    assert score_answer_file(str(path), str(key)).accumulate() == scored(HAND).accumulate()
    write_answer_file(str(key), ids[:-1], [g for g, _ in HAND[:-1]])
    with pytest.raises(ValueError, match=r"score_answer_file: expected the IDs of the key, got "
                                         r"missing \[\] and extra \['8009'\]"):
        score_answer_file(str(path), str(key))


@pytest.mark.parametrize("ids, labels, message", [
    ([1, 2], ["Other"], "expected as many labels as ids, got 1 and 2"),
    (["1a"], ["Other"], "expected numeric ids, got '1a'"),
    ([1, "1"], ["Other", "Other"], "expected unique ids, got 1 twice"),
    ([1], ["Others"], "write_answer_file: expected labels as SemEval label names or ids, got "
                      "'Others' at position 0"),
])
def test_write_answer_file_errors(tmp_path, ids, labels, message):
    with pytest.raises(ValueError) as err:
        write_answer_file(str(tmp_path / "a.txt"), ids, labels)
    assert message in str(err.value)
    assert not (tmp_path / "a.txt").exists()


# ------------------------------------------------------------------ SemEvalProbsMetric
def one_hot_probs(label_ids, peak=0.9):
    probs = np.full((len(label_ids), len(LABELS)), (1 - peak) / (len(LABELS) - 1))
    probs[np.arange(len(label_ids)), label_ids] = peak
    return probs


def test_probs_metric_keeps_probs_gold_and_index_in_arrival_order():
    from ernie_res.metrics.semeval import SemEvalProbsMetric

    m = SemEvalProbsMetric()
    assert m.probs.shape == (0, 19) and m.gold.shape == (0,) and m.index.shape == (0,)
    p1, p2 = one_hot_probs([1, 0]), one_hot_probs([5])
    m.update(p1, np.array([1, 2]))                           # default index: 0, 1
    m.update(p2, np.array([[5]]))                            # gold of any shape, flattened
    np.testing.assert_array_equal(m.probs, np.concatenate([p1, p2]))
    np.testing.assert_array_equal(m.gold, [1, 2, 5])
    np.testing.assert_array_equal(m.index, [0, 1, 2])        # continues after the first batch
    assert m.accumulate() == scored([(LABELS[1], LABELS[1]), (LABELS[2], LABELS[0]),
                                     (LABELS[5], LABELS[5])]).accumulate()
    m.reset()
    assert m.probs.shape == (0, 19) and m.accumulate()["accuracy"] == 0.0
    with pytest.raises(ValueError, match=r"expected probs of shape \[batch_size, 19\], "
                                         r"got \[2, 18\]"):
        m.update(np.zeros((2, 18)), np.array([0, 0]))


def test_predictions_in_order_sorts_by_example_index():
    from ernie_res.metrics.semeval import SemEvalProbsMetric

    m = SemEvalProbsMetric()
    m.update(one_hot_probs([3, 7]), np.array([3, 7]), index=np.array([2, 0]))
    m.update(one_hot_probs([11]), np.array([11]), index=np.array([1]))
    np.testing.assert_array_equal(m.index, [2, 0, 1])
    np.testing.assert_array_equal(m.predictions_in_order(3), [7, 11, 3])


@pytest.mark.parametrize("index, n, got", [([0, 2], 3, "got 2 for 3 examples"),    # missing
                                           ([0, 1, 1], 3, "got 3 for 3 examples"),  # twice
                                           ([0, 1, 2], 2, "got 3 for 2 examples"),  # extra
                                           ([1, 2], 2, "got 2 for 2 examples")])    # shifted
def test_predictions_in_order_needs_exactly_one_prediction_per_example(index, n, got):
    from ernie_res.metrics.semeval import SemEvalProbsMetric

    m = SemEvalProbsMetric()
    m.update(one_hot_probs([0] * len(index)), np.zeros(len(index), dtype=np.int64),
             index=np.array(index))
    with pytest.raises(ValueError, match=f"expected one prediction per example, {got}"):
        m.predictions_in_order(n)


def test_answer_text_and_write_answer_file_give_the_same_bytes(tmp_path):
    from ernie_res.metrics.semeval import answer_text

    ids = [8001 + i for i in range(len(HAND))]
    labels = [p for _, p in HAND]
    text = answer_text(ids, labels)
    path = tmp_path / "answer.txt"
    write_answer_file(str(path), ids, labels)
    assert path.read_bytes() == text.encode("utf-8")
    assert text == answer_text([str(i) for i in ids], [LABELS.index(x) for x in labels])
    assert text.endswith("\n") and text.count("\n") == len(HAND)
    with pytest.raises(ValueError, match="^answer_text: expected unique ids, got 1 twice"):
        answer_text([1, 1], ["Other", "Other"])
