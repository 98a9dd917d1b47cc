"""Stratified dev hold-out (data/splits.py): counts per label, order, seeding, bad ratios."""
import pytest

from ernie_res.data.splits import label_counts, split_dev


def _examples(sizes):
    out = []
    for label, n in sizes.items():
        out += [{"id": f"{label}/{i}", "text": str(i), "label": label} for i in range(n)]
    # interleave labels so that "input order" is not label order
    return sorted(out, key=lambda e: (int(e["text"]), e["label"]))


def test_label_counts():
    assert label_counts(_examples({"b": 3, "a": 10})) == {"a": 10, "b": 3}
    assert list(label_counts(_examples({"b": 3, "a": 10}))) == ["a", "b"]
    assert label_counts([]) == {}


def test_split_dev_stratified_counts():
    ex = _examples({"a": 10, "b": 3, "c": 1, "d": 2, "e": 7})
    train, dev = split_dev(ex, 0.2, seed=0)
    # a: round(2.0)=2; b: round(0.6)=1; c: n<2 -> 0; d: round(0.4)=0 -> at least 1;
    # e: round(1.4)=1
    assert label_counts(dev) == {"a": 2, "b": 1, "d": 1, "e": 1}
    assert label_counts(train) == {"a": 8, "b": 2, "c": 1, "d": 1, "e": 6}
    # a partition of the input, each part in input order
    assert sorted(e["id"] for e in train + dev) == sorted(e["id"] for e in ex)
    pos = {e["id"]: i for i, e in enumerate(ex)}
    assert [pos[e["id"]] for e in train] == sorted(pos[e["id"]] for e in train)
    assert [pos[e["id"]] for e in dev] == sorted(pos[e["id"]] for e in dev)


def test_split_dev_keeps_one_in_train():
    train, dev = split_dev(_examples({"a": 2, "b": 3}), 0.9, seed=1)
    assert label_counts(dev) == {"a": 1, "b": 2}
    assert label_counts(train) == {"a": 1, "b": 1}


def test_split_dev_deterministic_and_seeded():
    ex = _examples({"a": 30, "b": 20})
    assert split_dev(ex, 0.25, 7) == split_dev(ex, 0.25, 7)
    dev_sets = {tuple(e["id"] for e in split_dev(ex, 0.25, s)[1]) for s in range(5)}
    assert len(dev_sets) > 1


@pytest.mark.parametrize("ratio", [0, 1, 1.5, -0.1, "0.1", True, None])
def test_split_dev_bad_ratio(ratio):
    with pytest.raises(ValueError) as err:
        split_dev(_examples({"a": 4}), ratio, 0)
    assert str(err.value) == f"dev_ratio: expected a number in (0, 1), got {ratio!r}"
