"""Safe state files (models/safe_state.py): the safetensors + JSON codec, and the restricted
reader of old pickled weights, which must refuse a planted payload without running it."""
import json
import pickle
import random

import numpy as np
import paddle
import pytest

from ernie_res.models.safe_state import (UnsafeFileError, load_legacy_weights, load_state,
                                         load_tensors, save_state, save_tensors)


def planted(path, evil):
    """A ``.pdparams``-style pickle holding the ``payload`` fixture's object."""
    with open(path, "wb") as f:
        pickle.dump({"weight": np.ones((2, 2), dtype="float32"), "evil": evil}, f, protocol=4)
    return path


def test_the_planted_file_is_live(tmp_path, payload):
    """The payload runs under a plain unpickler (so the tests below can fail)."""
    evil, marker = payload
    with open(planted(tmp_path / "w.pdparams", evil), "rb") as f:
        pickle.load(f)
    assert marker.exists()


def test_legacy_weights_refuse_a_payload_without_running_it(tmp_path, payload):
    evil, marker = payload
    path = planted(tmp_path / "w.pdparams", evil)
    with pytest.raises(UnsafeFileError, match=r"w.pdparams: refused to load this pickle: it "
                                              r"asks for (posix|os|nt)\.system"):
        load_legacy_weights(path)
    assert not marker.exists()


def test_legacy_weights_read_a_real_paddle_save(tmp_path):
    layer = paddle.nn.Linear(3, 2)
    paddle.save(layer.state_dict(), str(tmp_path / "w.pdparams"))
    weights = load_legacy_weights(tmp_path / "w.pdparams")
    assert sorted(weights) == ["bias", "weight"]       # paddle's name map is dropped
    np.testing.assert_array_equal(weights["weight"], layer.weight.numpy())


@pytest.mark.parametrize("state, message", [
    ({"a": np.array([object()], dtype=object)}, "an object array"),
    ([np.ones(2)], "expected a dict of named arrays"),
    ({"a": 1}, "expected a dict of named arrays"),
])
def test_legacy_weights_accept_only_named_numeric_arrays(tmp_path, state, message):
    with open(tmp_path / "w.pdparams", "wb") as f:
        pickle.dump(state, f, protocol=4)
    with pytest.raises(UnsafeFileError, match=message):
        load_legacy_weights(tmp_path / "w.pdparams")


def test_legacy_weights_on_a_file_that_is_no_pickle(tmp_path):
    (tmp_path / "w.pdparams").write_bytes(b"not a pickle at all")
    with pytest.raises(UnsafeFileError, match="w.pdparams: not a readable weights file"):
        load_legacy_weights(tmp_path / "w.pdparams")


def test_state_round_trip_keeps_tensors_arrays_and_values(tmp_path):
    state = {"opt": {"w_moment1_0": paddle.to_tensor([[1.0, 2.0]]),
                     "half": paddle.to_tensor([1.5, -2.0]).astype("bfloat16"),
                     "LR_Scheduler": {"last_epoch": 3, "last_lr": 0.5}},
             "rng": {"numpy": list(np.random.get_state()), "python": random.getstate()},
             "scale": np.array([32768.0], dtype="float32"),
             "history": [{"step": 2, "f1": float("nan")}], "best": None}
    save_state(state, tmp_path / "s")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.safetensors"]
    back = load_state(tmp_path / "s")
    np.testing.assert_array_equal(back["opt"]["w_moment1_0"].numpy(), [[1.0, 2.0]])
    assert back["opt"]["half"].dtype == paddle.bfloat16
    np.testing.assert_array_equal(back["opt"]["half"].astype("float32").numpy(), [1.5, -2.0])
    assert back["opt"]["LR_Scheduler"] == {"last_epoch": 3, "last_lr": 0.5}
    assert back["rng"]["numpy"][1].dtype == np.uint32
    np.testing.assert_array_equal(back["rng"]["numpy"][1], np.random.get_state()[1])
    assert isinstance(back["scale"], np.ndarray) and back["scale"][0] == 32768.0
    assert back["best"] is None and np.isnan(back["history"][0]["f1"])


def test_state_files_that_do_not_match_are_refused(tmp_path):
    save_state({"a": paddle.ones([2])}, tmp_path / "s")
    skeleton = json.loads((tmp_path / "s.json").read_text())
    (tmp_path / "s.json").write_text(json.dumps({"a": {"__tensor__": "b"}}))
    with pytest.raises(UnsafeFileError, match="refers to tensor 'b'"):
        load_state(tmp_path / "s")
    (tmp_path / "s.json").write_text(json.dumps({}))
    with pytest.raises(UnsafeFileError, match=r"holds tensors \['a'\] that .* does not refer to"):
        load_state(tmp_path / "s")
    (tmp_path / "s.json").write_text(json.dumps(skeleton)[:-3])
    with pytest.raises(UnsafeFileError, match="s.json: invalid JSON"):
        load_state(tmp_path / "s")


def test_state_refuses_what_json_cannot_hold(payload):
    with pytest.raises(TypeError, match="cannot store _RunsCode at 'x'"):
        save_state({"x": payload[0]}, "/nonexistent/never-written")


def test_weights_round_trip_and_a_corrupt_file(tmp_path):
    layer = paddle.nn.Linear(3, 2)
    save_tensors(layer.state_dict(), tmp_path / "m.safetensors")
    back = load_tensors(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(back["weight"].numpy(), layer.weight.numpy())
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{broken")
    with pytest.raises(UnsafeFileError, match="bad.safetensors: not a readable safetensors"):
        load_tensors(tmp_path / "bad.safetensors")
