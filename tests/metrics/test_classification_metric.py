import numpy as np
import pytest

from ernie_res.metrics.classification import ClassificationMetric


def onehot(pred, k):
    p = np.full((len(pred), k), 0.1 / (k - 1))
    p[np.arange(len(pred)), pred] = 0.9
    return p


def test_hand_case():
    # gold  a a b b c ; pred a b b b a
    m = ClassificationMetric(["a", "b", "c"])
    m.update(onehot([0, 1, 1, 1, 0], 3), np.array([0, 0, 1, 1, 2]))
    r = m.accumulate()
    assert r["accuracy"] == pytest.approx(60.0)
    # a: P=1/2 R=1/2 F=.5 ; b: P=2/3 R=1 F=.8 ; c: P=0 R=0 F=0 -> macro F1 = 1.3/3
    assert r["macro_f1"] == pytest.approx(100 * 1.3 / 3)
    assert m.confusion_matrix().tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert "macro avg" in m.report()


def test_absent_class_is_left_out_of_macro():
    m = ClassificationMetric(["a", "b", "c"])
    m.update(onehot([0, 1], 3), np.array([0, 1]))
    assert m.accumulate()["macro_f1"] == pytest.approx(100.0)


def test_shape_check():
    m = ClassificationMetric(["a", "b"])
    with pytest.raises(ValueError, match=r"expected probs \[B, 2\] and gold \[B\], got \[1, 3\]"):
        m.update(np.zeros((1, 3)), np.zeros(1))
