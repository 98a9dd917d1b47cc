"""Checkpoint directories with a real tiny model: the round trip through ``api.load_model_dir``,
the files, optimizer-state renaming between separately built models, RNG state, the atomic
replace and the error on an incomplete directory."""
import errno
import json
import pickle
import random
import shutil
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml

from ernie_res import api
from ernie_res.engine import checkpoint
from ernie_res.engine.optim import build_optimizer
from ernie_res.models import build_model
from ernie_res.models.backbone import load_backbone
from ernie_res.models.safe_state import load_state, save_state


ROOT = Path(__file__).resolve().parents[2]
LABELS = ["alt.atheism", "rec.sport.hockey", "sci.space"]


@pytest.fixture(scope="module")
def config(tiny_ernie, tmp_path_factory):
    return api.load_config(ROOT / "configs/doc/20ng_tiny.yaml", [
        f"Model.backbone={tiny_ernie}", f"Global.output_dir={tmp_path_factory.mktemp('out')}",
        "Data.max_seq_len=16", "Data.head_tokens=4", "Optimizer.warmup_ratio=0"])


def make(config, tiny_ernie, seed):
    """A DocClassifier on its own freshly loaded tiny encoder (auto parameter names differ)."""
    paddle.seed(seed)
    encoder, tokenizer = load_backbone(str(tiny_ernie))
    return build_model(config.Model, encoder=encoder, num_labels=len(LABELS)), encoder, \
        tokenizer


def inputs(seed=0):
    rng = np.random.RandomState(seed)
    ids = rng.randint(5, 60, size=(3, 1, 12)).astype("int64")
    mask = np.ones_like(ids)
    mask[1, 0, 8:] = 0
    ids[mask == 0] = 0
    return {"input_ids": paddle.to_tensor(ids), "attention_mask": paddle.to_tensor(mask)}


@pytest.fixture(scope="module")
def saved(config, tiny_ernie, tmp_path_factory):
    model, encoder, tokenizer = make(config, tiny_ernie, seed=1)
    model.eval()
    path = tmp_path_factory.mktemp("ckpt") / "best"
    checkpoint.save_model_dir(path, model, config, LABELS, encoder, tokenizer,
                              meta={"step": 7, "metrics": {"accuracy": 0.5}})
    return path, model


def test_round_trip_gives_identical_weights_and_outputs(saved):
    path, model = saved
    config, task, loaded, meta = api.load_model_dir(path, device="cpu")
    assert meta == {"step": 7, "metrics": {"accuracy": 0.5}}
    assert task.labels == LABELS and not loaded.training
    ours, theirs = model.state_dict(), loaded.state_dict()
    assert list(ours) == list(theirs)
    for name in ours:
        np.testing.assert_array_equal(theirs[name].numpy(), ours[name].numpy(), err_msg=name)
    with paddle.no_grad():
        a = model(**inputs())["probs"].numpy()
        b = loaded(**inputs())["probs"].numpy()
    np.testing.assert_array_equal(a, b)
    raw, labels, meta2 = checkpoint.read_model_dir(path)
    assert raw == config.to_dict() and labels == LABELS and meta2 == meta


def test_directory_contents(saved, config, tiny_ernie, tmp_path):
    path, model = saved
    files = {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()}
    assert {"config.yaml", "labels.json", "model.safetensors", "backbone/config.json",
            "backbone/vocab.txt", "meta.json", "COMPLETE"} <= files
    assert not any(f.endswith(".pdparams") for f in files)          # no pickle anywhere
    assert not any(f.startswith("training_state") for f in files)
    assert json.loads((path / "labels.json").read_text(encoding="utf-8")) == LABELS
    _, encoder, tokenizer = make(config, tiny_ernie, seed=1)
    latest = tmp_path / "latest"
    checkpoint.save_model_dir(latest, model, config, LABELS, encoder, tokenizer,
                              training_state={"trainer": {"step": 3}})
    assert (latest / "training_state.json").is_file()
    assert (latest / "training_state.safetensors").is_file()
    assert checkpoint.load_training_state(latest) == {"trainer": {"step": 3}}
    assert json.loads((latest / "meta.json").read_text(encoding="utf-8")) == {}
    with pytest.raises(FileNotFoundError, match="training_state.json not found"):
        checkpoint.load_training_state(path)


def _train_step(model, opt, seed):
    model.eval()                                  # no dropout: both models see the same net
    out = model(**inputs(seed), labels=paddle.to_tensor([0, 2, 1], dtype="int64"))
    out["loss"].backward()
    opt.step()
    opt.clear_grad()


def test_optimizer_state_renaming_round_trip(config, tiny_ernie, tmp_path):
    a, _, _ = make(config, tiny_ernie, seed=1)
    b, _, _ = make(config, tiny_ernie, seed=2)
    names_a = {p.name for p in a.parameters()}
    assert names_a.isdisjoint(p.name for p in b.parameters())    # Paddle's auto names differ
    opt_a, sched_a = build_optimizer(a, config.Optimizer, 10, 1.0)
    opt_b, sched_b = build_optimizer(b, config.Optimizer, 10, 1.0)
    _train_step(a, opt_a, seed=0)
    sched_a.step()
    state = checkpoint.optimizer_state_to_save(opt_a, a)
    tensor_keys = [k for k, v in state.items() if not isinstance(v, dict)]
    assert tensor_keys and all(k.startswith("@") for k in tensor_keys)
    assert not any(n in k for k in state for n in names_a)       # no auto name survives
    assert "@classifier.weight_moment1_0" in state
    save_state(state, tmp_path / "opt")                       # as in training_state
    state = load_state(tmp_path / "opt")                        # (and no shared tensors)

    loaded = checkpoint.optimizer_state_to_load(state, b)
    by_struct = {n: p.name for n, p in b.named_parameters()}
    for key in tensor_keys:
        struct = max((n for n in by_struct if key.startswith("@" + n + "_")), key=len)
        new_key = by_struct[struct] + key[len(struct) + 1:]
        assert loaded[new_key] is state[key]
    b.set_state_dict(a.state_dict())
    opt_b.set_state_dict(loaded)
    sched_b.set_state_dict(sched_a.state_dict())
    _train_step(a, opt_a, seed=1)                 # the same next update on both
    _train_step(b, opt_b, seed=1)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(pb.numpy(), pa.numpy(), rtol=0, atol=1e-7, err_msg=name)
    after_a = checkpoint.optimizer_state_to_save(opt_a, a)
    after_b = checkpoint.optimizer_state_to_save(opt_b, b)
    assert sorted(after_a) == sorted(after_b)
    for key, value in after_a.items():
        if not isinstance(value, dict):
            np.testing.assert_allclose(np.asarray(after_b[key]), np.asarray(value), atol=1e-7,
                                       err_msg=key)


def test_optimizer_state_renaming_prefers_the_longest_name():
    class P:
        def __init__(self, name):
            self.name = name

    class M:
        def named_parameters(self):
            return [("x.weight", P("lin_1.w_0")), ("x.weight_ih", P("lin_1.w_0_x"))]

    class Opt:
        def state_dict(self):
            return {"lin_1.w_0_moment1_0": 1, "lin_1.w_0_x_moment1_0": 2,
                    "master_weights": {"lin_1.w_0": 3}, "LR_Scheduler": {"last_epoch": 4}}

    state = checkpoint.optimizer_state_to_save(Opt(), M())
    assert state == {"@x.weight_moment1_0": 1, "@x.weight_ih_moment1_0": 2,
                     "master_weights": {"@x.weight": 3}, "LR_Scheduler": {"last_epoch": 4}}
    assert checkpoint.optimizer_state_to_load(state, M()) == Opt().state_dict()


def _draws():
    return (paddle.rand([4]).numpy().tolist(), np.random.rand(4).tolist(),
            [random.random() for _ in range(4)])


def test_rng_state_reproduces_the_next_random_numbers(config, saved, tmp_path):
    state = checkpoint.rng_state()
    first = _draws()
    assert _draws() != first
    checkpoint.set_rng_state(state)
    assert _draws() == first
    # through a training_state file, as a resumed run restores it
    _, model = saved
    encoder, tokenizer = load_backbone(str(config.Model.backbone))
    checkpoint.save_model_dir(tmp_path / "latest", model, config, LABELS, encoder, tokenizer,
                              training_state={"rng": checkpoint.rng_state()})
    expected = _draws()
    _draws()
    checkpoint.set_rng_state(checkpoint.load_training_state(tmp_path / "latest")["rng"])
    assert _draws() == expected


def test_atomic_replace_leaves_no_temporary_directories(saved, config, tmp_path):
    _, model = saved
    encoder, tokenizer = load_backbone(str(config.Model.backbone))
    path = tmp_path / "best"
    (tmp_path / "best.tmp").mkdir()                                # an interrupted save's
    (tmp_path / "best.tmp" / "junk").write_text("x")
    (tmp_path / "best.old").mkdir()
    for step in (1, 2):
        checkpoint.save_model_dir(path, model, config, LABELS, encoder, tokenizer,
                                  meta={"step": step})
        assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]
        assert json.loads((path / "meta.json").read_text())["step"] == step
    assert not (path / "junk").exists()


def test_read_model_dir_names_the_missing_files(saved, tmp_path):
    path, _ = saved
    broken = tmp_path / "broken"
    shutil.copytree(path, broken)
    (broken / "labels.json").unlink()
    (broken / "backbone" / "config.json").unlink()
    with pytest.raises(FileNotFoundError) as err:
        checkpoint.read_model_dir(broken)
    msg = str(err.value)
    assert "missing labels.json, backbone/config.json" in msg and str(broken) in msg
    assert "config.yaml" not in msg.replace("backbone/config.json", "")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="missing config.yaml, labels.json, "
                                                "model.safetensors, backbone/config.json"):
        checkpoint.read_model_dir(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        checkpoint.read_model_dir(tmp_path / "nowhere")


# ------------------------------------------------------------------------------ trust
def _legacy_copy(saved_path, tmp_path, weights):
    """A model directory in the earlier layout: ``model_state.pdparams`` and no marker."""
    legacy = tmp_path / "legacy"
    shutil.copytree(saved_path, legacy)
    (legacy / checkpoint.WEIGHTS_FILE).unlink()
    (legacy / checkpoint.COMPLETE).unlink()
    with open(legacy / checkpoint.LEGACY_WEIGHTS_FILE, "wb") as f:
        pickle.dump(weights, f, protocol=4)
    return legacy


def test_a_planted_model_pickle_is_refused_and_does_not_run(saved, tmp_path, tool, payload):
    path, model = saved
    evil, marker = payload
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    weights["classifier.weight"] = evil
    legacy = _legacy_copy(path, tmp_path, weights)
    with pytest.raises(checkpoint.CheckpointError, match=r"model_state.pdparams: refused to "
                                                         r"load this pickle: it asks for "):
        api.load_model_dir(legacy, device="cpu")
    assert tool("eval").main(["--model_dir", str(legacy), "--device", "cpu"]) == 2
    assert tool("export_model").main(["--model_dir", str(legacy),
                                      "--output", str(tmp_path / "x" / "m")]) == 2
    assert not marker.exists()


def test_an_old_weights_pickle_still_loads_through_the_safe_path(saved, tmp_path):
    path, model = saved
    legacy = _legacy_copy(path, tmp_path, {k: v.numpy() for k, v in model.state_dict().items()})
    _, _, loaded, _ = api.load_model_dir(legacy, device="cpu")
    with paddle.no_grad():
        np.testing.assert_array_equal(loaded(**inputs())["probs"].numpy(),
                                      model(**inputs())["probs"].numpy())


def test_a_pickled_training_state_is_refused_and_does_not_run(saved, tmp_path, payload):
    path, _ = saved
    latest = tmp_path / "latest"
    shutil.copytree(path, latest)
    evil, marker = payload
    with open(latest / checkpoint.LEGACY_TRAIN_STATE_FILE, "wb") as f:
        pickle.dump({"rng": evil}, f, protocol=4)
    with pytest.raises(checkpoint.CheckpointError, match=r"training_state.pdparams is a pickle "
                                                         r"written by an earlier version; it "
                                                         r"is not loaded"):
        checkpoint.load_training_state(latest)
    assert not marker.exists()


def _copy(path, tmp_path, name="m"):
    target = tmp_path / name
    shutil.copytree(path, target)
    return target


def test_loading_is_strict_and_names_the_keys(saved, config, tiny_ernie, tmp_path):
    path, model = saved
    weights = {k: v for k, v in model.state_dict().items()}
    fresh, _, _ = make(config, tiny_ernie, seed=3)
    broken = dict(weights)
    del broken["classifier.bias"]
    broken["extra.weight"] = paddle.ones([2])
    broken["classifier.weight"] = paddle.ones([5, 2])
    with pytest.raises(checkpoint.CheckpointError) as err:
        checkpoint.load_weights(fresh, broken, "DIR", hint=" (hint)")
    msg = str(err.value)
    assert msg.startswith("DIR: the weights do not fit the model built from its config.yaml")
    assert "missing: classifier.bias" in msg and "unexpected: extra.weight" in msg
    assert "shape mismatch: classifier.weight [5, 2] (model: [32, 3])" in msg
    assert msg.endswith("(hint)")
    # through a model directory: an architecture that does not match the weights
    other = _copy(path, tmp_path)
    raw = yaml.safe_load((other / "config.yaml").read_text())
    raw["Model"]["num_res_blocks"] = 2
    (other / "config.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(checkpoint.CheckpointError, match=r"missing: residual.blocks.1"):
        api.load_model_dir(other, device="cpu")


def test_labels_json_must_match_the_head(saved, tmp_path):
    path, _ = saved
    other = _copy(path, tmp_path)
    (other / "labels.json").write_text(json.dumps([f"L{i}" for i in range(10000)]))
    with pytest.raises(checkpoint.CheckpointError, match=r"classifier.weight \[32, 3\] "
                                                         r"\(model: \[32, 10000\]\).*labels.json "
                                                         r"holds 10000 labels"):
        api.load_model_dir(other, device="cpu")


@pytest.mark.parametrize("name, text, message", [
    ("config.yaml", "Global: [1, 2\n", r"config.yaml: invalid YAML"),
    ("labels.json", "[\"a\", ", r"labels.json: invalid JSON"),
    ("labels.json", "{\"a\": 1}", r"labels.json: expected a list of label strings"),
    ("meta.json", "{", r"meta.json: invalid JSON"),
])
def test_broken_files_in_a_model_directory_are_named(saved, tmp_path, name, text, message):
    path, _ = saved
    other = _copy(path, tmp_path)
    (other / name).write_text(text)
    with pytest.raises(checkpoint.CheckpointError, match=message):
        checkpoint.read_model_dir(other)


def test_non_finite_weights_are_never_saved(saved, config, tmp_path):
    _, model = saved
    encoder, tokenizer = load_backbone(str(config.Model.backbone))
    bad, _, _ = make(config, config.Model.backbone, seed=4)
    with paddle.no_grad():
        bad.classifier.weight[0, 0] = float("nan")
    checkpoint.save_model_dir(tmp_path / "best", model, config, LABELS, encoder, tokenizer,
                              meta={"step": 1})
    with pytest.raises(checkpoint.CheckpointError, match=r"refusing to save non-finite "
                                                         r"weights \(classifier.weight\)"):
        checkpoint.save_model_dir(tmp_path / "best", bad, config, LABELS, encoder, tokenizer,
                                  meta={"step": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]
    assert json.loads((tmp_path / "best" / "meta.json").read_text())["step"] == 1


def test_a_full_disk_leaves_no_partial_directory_and_the_previous_one_intact(
        saved, config, tmp_path, monkeypatch):
    _, model = saved
    encoder, tokenizer = load_backbone(str(config.Model.backbone))
    checkpoint.save_model_dir(tmp_path / "latest", model, config, LABELS, encoder, tokenizer,
                              meta={"step": 1})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_tensors", full)
    with pytest.raises(checkpoint.CheckpointError) as err:
        checkpoint.save_model_dir(tmp_path / "latest", model, config, LABELS, encoder,
                                  tokenizer, meta={"step": 2})
    assert str(err.value) == (f"could not write {tmp_path / 'latest'}: No space left on device "
                              f"({tmp_path / 'latest.tmp'} removed; the previous latest/ is "
                              f"intact)")
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]
    assert checkpoint.read_model_dir(tmp_path / "latest")[2]["step"] == 1


def _complete(path, step):
    path.mkdir()
    (path / checkpoint.COMPLETE).write_text(json.dumps({"format": 2, "step": step}))


@pytest.mark.parametrize("have, restored", [
    ({"latest.old": 1, "latest.tmp": 2}, 2),      # killed between the two renames
    ({"latest.old": 1}, 1),                       # the .tmp was incomplete and is gone
    ({"latest.tmp": 3}, 3),
])
def test_recover_puts_the_newest_complete_copy_in_place(tmp_path, have, restored):
    for name, step in have.items():
        _complete(tmp_path / name, step)
    (tmp_path / "latest.tmp").mkdir(exist_ok=True)           # incomplete when not listed
    found = checkpoint.recover(tmp_path / "latest")
    assert found == tmp_path / "latest"
    assert json.loads((found / checkpoint.COMPLETE).read_text())["step"] == restored
    assert not (tmp_path / "latest.tmp").exists() or checkpoint.is_complete(
        tmp_path / "latest.tmp")


def test_recover_finds_nothing_and_an_incomplete_directory_is_refused(saved, tmp_path):
    assert checkpoint.recover(tmp_path / "latest") is None
    path, _ = saved
    other = _copy(path, tmp_path)
    (other / checkpoint.COMPLETE).unlink()
    with pytest.raises(checkpoint.CheckpointError, match="is incomplete \\(no COMPLETE marker\\)"):
        checkpoint.read_model_dir(other)
