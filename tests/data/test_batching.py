"""From features to model inputs: ListDataset, in-order batches, tensors and back."""
import warnings

import numpy as np
import paddle

from ernie_res.data.batching import ListDataset, in_order, to_numpy, to_tensors


def collate(features):
    return {"x": np.array([f["x"] for f in features], dtype="float32"),
            "_index": np.array([f["i"] for f in features], dtype="int64")}


FEATS = [{"x": [float(i), -float(i)], "i": i} for i in range(7)]


def test_list_dataset():
    ds = ListDataset(FEATS)
    assert len(ds) == 7 and ds[3] is FEATS[3]
    assert isinstance(ds, paddle.io.Dataset)


def test_in_order_keeps_the_order_and_a_short_last_batch():
    batches = list(in_order(FEATS, 3, collate))
    assert [np.asarray(b["_index"]).tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    np.testing.assert_array_equal(np.asarray(batches[1]["x"]), [[3, -3], [4, -4], [5, -5]])
    assert [np.asarray(b["_index"]).tolist() for b in in_order(FEATS, 3, collate)] == \
        [[0, 1, 2], [3, 4, 5], [6]]                                 # every time


def test_in_order_batches_are_the_numpy_arrays_collate_returns():
    batch = next(iter(in_order(FEATS, 3, collate)))
    assert all(isinstance(v, np.ndarray) for v in batch.values()), \
        {k: type(v).__name__ for k, v in batch.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_tensors(batch)


def test_to_tensors_drops_bookkeeping_keys_and_keeps_dtypes():
    batch = {"input_ids": np.array([[1, 2]], dtype="int64"),
             "mask": np.array([[1.0, 0.0]], dtype="float32"),
             "labels": np.array([3], dtype="int64"),
             "_index": np.array([0]), "_ids": ["a"]}
    t = to_tensors(batch)
    assert sorted(t) == ["input_ids", "labels", "mask"]
    assert all(isinstance(v, paddle.Tensor) for v in t.values())
    assert t["input_ids"].dtype == paddle.int64 and t["mask"].dtype == paddle.float32
    np.testing.assert_array_equal(t["input_ids"].numpy(), batch["input_ids"])


def test_to_numpy_keeps_only_tensors():
    out = {"probs": paddle.to_tensor([[0.25, 0.75]]), "loss": paddle.to_tensor(1.5),
           "log": {"kl": paddle.to_tensor(0.1)}, "note": "text"}
    got = to_numpy(out)
    assert sorted(got) == ["loss", "probs"]
    assert isinstance(got["probs"], np.ndarray) and got["probs"].shape == (1, 2)
    assert float(got["loss"]) == 1.5
