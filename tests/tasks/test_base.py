"""The Task protocol's defaults (tasks/base.py), with a fake task and a fake model: no ERNIE."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import paddle
import pytest

from ernie_res.api import load_config
from ernie_res.config import ConfigError
from ernie_res.models.backbone import backbone_from_config
from ernie_res.tasks import TASKS
from ernie_res.tasks import base as task_base
from ernie_res.tasks.base import DataConfig, Task

ROOT = Path(__file__).resolve().parents[2]


def fake_config(root="data", max_seq_len=16, eval_batch_size=2):
    return SimpleNamespace(Data=DataConfig(name="fake", root=str(root), max_seq_len=max_seq_len),
                           Train=SimpleNamespace(eval_batch_size=eval_batch_size),
                           Model=SimpleNamespace(name="fake_model"))


class FakeTask(Task):
    """Features are the text lengths; ``predictions`` keeps what it was given."""
    name = "fake"
    dataset = "fakeset"

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.featurized = []
        self.given = None

    def featurize(self, examples, split):
        self.featurized.append(split)
        return [{"x": [float(len(e["text"]))], "index": i} for i, e in enumerate(examples)]

    def feature_length(self, feature):
        return feature["x"][0]

    def collate(self, features):
        return {"x": np.array([f["x"] for f in features], dtype=np.float32),
                "_index": np.array([f["index"] for f in features], dtype=np.int64)}

    def predictions(self, batches, examples, top_k=3):
        self.given = (batches, examples, top_k)
        return [{"id": e["id"]} for e in examples]


class FakeRunner:
    """``run("model", batch)`` returns ``{"probs": 2 * x}`` and records each call."""

    def __init__(self):
        self.calls = []

    def run(self, program, batch):
        self.calls.append({"program": program, "keys": sorted(batch),
                           "x": np.asarray(batch["x"])[:, 0].tolist()})
        return {"probs": np.asarray(batch["x"]) * 2}


def examples(n):
    return [{"id": f"e{i}", "text": "x" * (i + 1)} for i in range(n)]


def test_init_copies_labels_and_logs_only_with_a_logger():
    labels = ("b", "a")
    task = FakeTask(fake_config(), tokenizer=None, labels=labels)
    assert task.labels == ["b", "a"] and isinstance(task.labels, list)
    assert FakeTask(fake_config(), None).labels is None
    task.log("nobody listens")                     # no logger: nothing happens, no error
    lines = []
    FakeTask(fake_config(), None, logger=SimpleNamespace(info=lines.append)).log("hello")
    assert lines == ["hello"]


def test_class_attributes_default():
    assert Task.name is None and Task.dataset is None and Task.model_names == ()
    assert Task.DataConfig is DataConfig and Task.splits == ("train", "dev", "test")
    d = DataConfig(root="data")
    assert (d.name, d.root, d.max_seq_len, d.max_examples) == ("", "data", 512, 0)
    with pytest.raises(ConfigError, match="^root: required, got nothing"):
        DataConfig()                                   # Data.root has no default


def test_registry_keys_are_the_task_names():
    assert sorted(TASKS) == ["doc", "gen", "rel", "seq"]
    for name, cls in TASKS.items():
        assert cls.name == name and issubclass(cls, Task)
        assert issubclass(cls.DataConfig, DataConfig)


def test_check_config_default_accepts_anything():
    assert Task.check_config(fake_config()) is None


def test_check_backbone_default_names_both_values():
    assert Task.check_backbone(fake_config(max_seq_len=16),
                               SimpleNamespace(max_position_embeddings=16)) is None
    with pytest.raises(ConfigError, match=r"Data\.max_seq_len: expected at most the backbone's "
                                          r"max_position_embeddings = 16, got 17"):
        Task.check_backbone(fake_config(max_seq_len=17),
                            SimpleNamespace(max_position_embeddings=16))


@pytest.mark.parametrize("name, config", [("doc", "configs/doc/20ng_tiny.yaml"),
                                          ("seq", "configs/seq/conll03_tiny.yaml"),
                                          ("rel", "configs/rel/semeval2010_tiny.yaml"),
                                          ("gen", "configs/gen/ptb_vae_tiny.yaml")])
def test_every_task_checks_max_seq_len_against_the_backbone(name, config, tiny_ernie):
    backbone = backbone_from_config(tiny_ernie)[0].config
    limit = backbone.max_position_embeddings
    extra = ["Model.max_len=512"] if name == "gen" else []   # the decoder must fit too

    def cfg(n):
        return load_config(ROOT / config, [f"Model.backbone={tiny_ernie}",
                                           f"Data.max_seq_len={n}", *extra])
    TASKS[name].check_config(cfg(limit))
    TASKS[name].check_backbone(cfg(limit), backbone)
    with pytest.raises(ConfigError, match=rf"Data\.max_seq_len: expected at most the "
                                          rf"backbone's max_position_embeddings = {limit}, "
                                          rf"got {limit + 1}"):
        TASKS[name].check_backbone(cfg(limit + 1), backbone)


def test_prepare_backbone_and_log_eval_visuals_are_no_ops():
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the default hook used {name}")

        def __setattr__(self, name, value):
            raise AssertionError(f"the default hook set {name}")

    tok = Untouchable()
    task = FakeTask(fake_config(), tok)
    assert task.prepare_backbone(Untouchable()) is None
    assert task.tokenizer is tok
    assert task.log_eval_visuals(Untouchable(), Untouchable(), 3, Untouchable()) is None


def test_answer_text_default_raises():
    with pytest.raises(ValueError, match="task 'fake' has no official answer format"):
        FakeTask(fake_config(), None).answer_text([], None)


def test_abstract_hooks_raise_not_implemented():
    task = Task(fake_config(), None)
    for call in (lambda: task.load_examples("train"), lambda: task.build_labels([]),
                 lambda: task.featurize([], "train"), lambda: task.collate([]),
                 task.build_metric, lambda: task.update_metric(None, {}, {}),
                 lambda: task.read_infer_inputs("x"), lambda: task.predictions([], [])):
        with pytest.raises(NotImplementedError):
            call()


def test_build_model_default_passes_the_label_count(monkeypatch):
    seen = {}

    def fake_build(model_cfg, **derived):
        seen.update(derived, cfg=model_cfg)
        return "model"

    monkeypatch.setattr(task_base, "build_model", fake_build)
    cfg = fake_config()
    assert FakeTask(cfg, None, labels=["a", "b", "c"]).build_model("enc") == "model"
    assert seen == {"encoder": "enc", "num_labels": 3, "cfg": cfg.Model}


def test_split_path(tmp_path):
    (tmp_path / "train.txt").write_text("x\n")
    task = FakeTask(fake_config(root=tmp_path), None)
    files = {"train": "train.txt", "dev": "train.txt", "test": "test.txt"}
    assert task.split_path("train", files) == tmp_path / "train.txt"
    with pytest.raises(ValueError, match=r"FAKE: unknown split 'valid' \(expected train, dev, "
                                         r"test\)"):
        task.split_path("valid", files)
    with pytest.raises(FileNotFoundError) as err:
        task.split_path("test", files)
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'test.txt'} not found: the fake task expects "
                          f"train.txt, test.txt in Data.root")          # each file named once
    assert "`python tools/download_data.py fakeset --dest DIR` fetches them" in msg


def test_predict_default_runs_the_model_program_on_each_batch_and_hands_outputs_on():
    task = FakeTask(fake_config(eval_batch_size=2), None)
    runner = FakeRunner()
    ex = examples(5)
    records = task.predict(runner, ex, {"sort_window": 0})
    assert records == [{"id": e["id"]} for e in ex]
    assert task.featurized == ["infer"]
    assert [c["program"] for c in runner.calls] == ["model"] * 3   # Train.eval_batch_size = 2
    assert [c["keys"] for c in runner.calls] == [["_index", "x"]] * 3
    batches, given_examples, top_k = task.given
    assert given_examples is ex and top_k == 3
    probs = np.concatenate([out["probs"] for out, _ in batches])
    np.testing.assert_allclose(probs[:, 0], [2.0 * len(e["text"]) for e in ex])
    index = np.concatenate([np.asarray(b["_index"]) for _, b in batches])
    assert index.tolist() == [0, 1, 2, 3, 4]                       # sort_window 0: input order


def test_predict_batches_by_length_within_windows_and_keeps_each_row_s_index():
    task = FakeTask(fake_config(eval_batch_size=2), None)
    runner = FakeRunner()
    ex = [{"id": str(i), "text": "x" * n} for i, n in enumerate([1, 9, 2, 8, 3, 7, 5])]
    task.predict(runner, ex, {"sort_window": 4})
    # windows [1 9 2 8] [3 7 5], each sorted longest first, then cut into batches of 2
    assert [c["x"] for c in runner.calls] == [[9, 8], [2, 1], [7, 5], [3]]
    for out, batch in task.given[0]:                               # rows keep their index
        for row, idx in zip(out["probs"], batch["_index"]):
            assert row[0] == 2 * len(ex[idx]["text"])
    runner.calls.clear()
    task.predict(runner, ex, {})                                   # default: 32 batches
    assert [c["x"] for c in runner.calls] == [[9, 8], [7, 5], [3, 2], [1]]


def test_predict_default_options():
    task = FakeTask(fake_config(eval_batch_size=2), None)
    runner = FakeRunner()
    task.predict(runner, examples(5), {"batch_size": 4, "top_k": 1})
    assert len(runner.calls) == 2 and task.given[2] == 1
    task = FakeTask(fake_config(), None)
    assert task.predict(runner, [], {}) == [] and task.featurized == []


def test_output_text_default_is_json_lines():
    rows = [{"id": "a", "label": "café"}, {"id": "b", "error": "x:2: bad"}]
    text = FakeTask(fake_config(), None).output_text(rows)
    assert text == '{"id": "a", "label": "café"}\n{"id": "b", "error": "x:2: bad"}\n'
    assert [json.loads(line) for line in text.splitlines()] == rows
    assert FakeTask(fake_config(), None).output_text([]) == ""
