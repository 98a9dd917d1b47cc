"""The trainer is task- and model-agnostic: it runs a fake task and a fake model with a
recording ``TrainStrategy`` and calls the hooks at the documented points.

The fake model records its training forwards, its backwards (a gradient hook on its logits)
and its evaluation forwards in the same event list as the strategy's hooks, so the tests
below check the exact interleaving of ``begin_update``, micro-batches and
``before_optimizer_step`` described in ``TrainStrategy``'s docstring.
"""
import json
import logging
from pathlib import Path

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from ernie_res.api import load_config
from ernie_res.engine.step_context import StepContext
from ernie_res.engine.trainer import NonFiniteError, Trainer
from ernie_res.engine.vdl import VDLWriter, read_scalars
from ernie_res.metrics.base import Metric
from ernie_res.models.safe_state import load_tensors
from ernie_res.models.base import TaskModel, TrainStrategy

ROOT = Path(__file__).resolve().parents[2]
N_TRAIN, N_DEV, DIM = 10, 3, 4


# ------------------------------------------------------------------------------ the fakes
class ScoreMetric(Metric):
    """Accuracy of the argmax, reported as ``score``; counts its updates."""
    main_key = "score"

    def __init__(self):
        self.reset()

    def reset(self):
        self.right, self.n, self.updates = 0, 0, 0

    def update(self, probs, labels):
        self.right += int((probs.argmax(-1) == np.asarray(labels)).sum())
        self.n += len(labels)
        self.updates += 1

    def accumulate(self):
        return {"score": self.right / max(self.n, 1), "n": float(self.n)}


class FakeTask:
    """Only what the trainer and the evaluation use: no base class, no name."""

    def __init__(self):
        self.labels = ["no", "yes"]
        self.visuals = []

    def collate(self, features):
        return {"x": np.array([f["x"] for f in features], dtype="float32"),
                "labels": np.array([f["label"] for f in features], dtype="int64"),
                "_index": np.array([f["index"] for f in features], dtype="int64")}

    def build_metric(self):
        return ScoreMetric()

    def update_metric(self, metric, outputs, batch):
        metric.update(outputs["probs"], batch["labels"])

    def log_eval_visuals(self, vdl, metric, step, model):
        self.visuals.append((step, metric.updates, model))
        vdl.scalar("fake/visual", step, step)


class RecordingStrategy(TrainStrategy):
    def __init__(self, model, events, notes=(None, "the fake phase ended")):
        self.model, self.events, self.notes = model, events, list(notes)
        self.evaluations = []

    def _weights(self):
        return self.model.head.weight.numpy().copy()

    def begin_update(self, ctx, step, total):
        self.events.append(("begin_update", step, total, isinstance(ctx, StepContext),
                            self._weights()))
        return {"phase": 10.0 * (step + 1)}

    def before_optimizer_step(self, ctx):
        grads = [p.grad is not None for p in self.model.parameters()]
        self.events.append(("before_optimizer_step", all(grads), self._weights()))

    def after_evaluation(self, metrics):
        self.evaluations.append(dict(metrics))
        self.events.append(("after_evaluation",))
        return self.notes[len(self.evaluations) - 1]


class FakeModel(TaskModel):
    """``forward(x, labels=None)``; ``log`` holds the number of training forwards so far."""

    def __init__(self):
        super().__init__()
        paddle.seed(3)
        self.head = paddle.nn.Linear(DIM, 2)
        self.events = []
        self.train_forwards = 0
        self.losses = []
        self.strategy = RecordingStrategy(self, self.events)

    def train_strategy(self):
        return self.strategy

    def forward(self, x, labels=None):
        logits = self.head(x)
        if self.training:
            self.train_forwards += 1
            self.events.append(("forward", int(x.shape[0])))
            logits.register_hook(lambda grad: self.events.append(("backward",)))
        else:
            self.events.append(("eval",))
        out = {"logits": logits, "probs": F.softmax(logits, -1),
               "log": {"aux": paddle.to_tensor(float(self.train_forwards))}}
        if labels is not None:
            out["loss"] = F.cross_entropy(logits, labels)
            if self.training:
                self.losses.append(float(out["loss"]))
        return out


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def features(n, seed):
    rng = np.random.RandomState(seed)
    return [{"x": rng.randn(DIM).astype("float32").tolist(), "label": i % 2, "index": i}
            for i in range(n)]


@pytest.fixture(scope="module")
def backbone(tiny_ernie):
    from ernie_res.models.backbone import load_backbone

    return load_backbone(str(tiny_ernie))


def run(backbone, out, *overrides):
    """Fit the fake model; returns (state, model, task, log messages, scalars)."""
    config = load_config(ROOT / "configs/doc/20ng_tiny.yaml", [
        f"Global.output_dir={out}", "Global.log_interval=1", "Global.seed=5",
        "Train.batch_size=2", "Train.eval_batch_size=2", "Train.max_steps=4",
        "Train.eval_steps=2", "Train.grad_accum_steps=2", "Optimizer.warmup_ratio=0",
        *overrides])
    task, model = FakeTask(), FakeModel()
    logger = logging.getLogger(f"test_trainer.{out.name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = ListHandler()
    logger.addHandler(handler)
    vdl = VDLWriter(out / "vdl")
    encoder, tokenizer = backbone
    try:
        state = Trainer(config, task, model, encoder, tokenizer, out, logger, vdl,
                        device="cpu").fit(features(N_TRAIN, 0), features(N_DEV, 1))
    finally:
        vdl.close()
        logger.removeHandler(handler)
    state["out"] = str(out)
    return state, model, task, handler.messages, read_scalars(out / "vdl")


@pytest.fixture(scope="module")
def accum_run(backbone, tmp_path_factory):
    """10 examples in batches of 2 = 5 micro-batches per epoch, 2 per update: the updates of
    an epoch take 2, 2 and 1 micro-batches; 4 updates; evaluations after updates 2 and 4."""
    return run(backbone, tmp_path_factory.mktemp("accum"))


def kinds(events):
    return [e[0] for e in events]


# ------------------------------------------------------------------------------ the order
def test_hooks_run_in_the_documented_order(accum_run):
    _, model, _, _, _ = accum_run
    group = ["begin_update", "forward", "backward", "forward", "backward",
             "before_optimizer_step"]
    short = ["begin_update", "forward", "backward", "before_optimizer_step"]
    evaluation = ["eval", "eval", "after_evaluation"]          # 3 dev examples, batches of 2
    assert kinds(model.events) == (group + group + evaluation     # epoch 1: updates 0 and 1
                                   + short                        # its last, shorter group
                                   + group + evaluation)          # epoch 2: update 3


def test_begin_update_gets_the_context_and_counts_steps(accum_run):
    _, model, _, _, _ = accum_run
    begins = [e for e in model.events if e[0] == "begin_update"]
    assert [(step, total) for _, step, total, _, _ in begins] == [(0, 4), (1, 4), (2, 4), (3, 4)]
    assert all(is_ctx for _, _, _, is_ctx, _ in begins)
    forwards = [e[1] for e in model.events if e[0] == "forward"]
    assert forwards == [2] * 7                                    # micro-batches of 2 examples


def test_the_optimizer_steps_after_before_optimizer_step_only(accum_run):
    _, model, _, _, _ = accum_run
    begins = [e[4] for e in model.events if e[0] == "begin_update"]
    befores = [e for e in model.events if e[0] == "before_optimizer_step"]
    assert all(has_grads for _, has_grads, _ in befores)          # gradients are still there
    for k, (_, _, weights) in enumerate(befores):
        np.testing.assert_array_equal(weights, begins[k])         # no step inside an update
        after = begins[k + 1] if k + 1 < len(begins) else model.head.weight.numpy()
        assert np.abs(after - weights).max() > 0                  # ... and one right after it


def test_after_evaluation_gets_the_metrics_and_its_note_is_logged(accum_run):
    state, model, task, messages, scalars = accum_run
    strategy = model.strategy
    assert len(strategy.evaluations) == len(state["history"]) == 2
    for got, hist in zip(strategy.evaluations, state["history"]):
        assert set(got) == {"score", "n", "loss"}
        assert got == {k: v for k, v in hist.items() if k != "step"}
        assert got["n"] == N_DEV
    assert [h["step"] for h in state["history"]] == [2, 4]
    assert messages.count("the fake phase ended") == 1            # a None note is not logged
    note_at = messages.index("the fake phase ended")
    assert messages[note_at - 1].startswith("eval @ step 4: score ")
    assert [s for s, _ in scalars["eval/score"]] == [2, 4]
    assert [(s, n) for s, n, _ in task.visuals] == [(2, 2), (4, 2)]   # after a full pass
    assert all(m is model for _, _, m in task.visuals)
    assert dict(scalars["fake/visual"]) == {2: 2.0, 4: 4.0}
    assert state["step"] == 4 and state["epoch"] == 1 and state["batch_in_epoch"] == 2


def test_model_log_scalars_are_averaged_into_train_scalars(accum_run):
    _, model, _, _, scalars = accum_run
    # out["log"]["aux"] is the number of training forwards so far: micro-batches 1..7 in
    # groups (1, 2), (3, 4), (5), (6, 7) -> the mean of each group.
    assert scalars["train/aux"] == [(1, 1.5), (2, 3.5), (3, 5.0), (4, 6.5)]
    losses = model.losses                     # the loss is averaged the same way
    expected = [np.mean(losses[0:2]), np.mean(losses[2:4]), losses[4], np.mean(losses[5:7])]
    assert [s for s, _ in scalars["train/loss"]] == [1, 2, 3, 4]
    np.testing.assert_allclose([v for _, v in scalars["train/loss"]], expected, rtol=1e-6)
    assert {"train/lr", "train/grad_norm", "train/samples_per_sec"} <= set(scalars)


def test_begin_update_logs_appear_as_train_scalars(accum_run):
    _, _, _, _, scalars = accum_run
    assert [s for s, _ in scalars["train/phase"]] == [1, 2, 3, 4]


def test_begin_update_logs_are_per_update_values_without_accumulation(backbone, tmp_path):
    # one micro-batch per update: each update's own value, 10 * (step + 1)
    _, _, _, _, scalars = run(backbone, tmp_path, "Train.grad_accum_steps=1",
                              "Train.eval_steps=4")
    assert scalars["train/phase"] == [(1, 10.0), (2, 20.0), (3, 30.0), (4, 40.0)]


def test_begin_update_logs_are_per_update_values_with_accumulation(accum_run):
    _, _, _, _, scalars = accum_run
    # each update's own value, 10 * (step + 1), whatever the number of its micro-batches
    assert scalars["train/phase"] == [(1, 10.0), (2, 20.0), (3, 30.0), (4, 40.0)]


def test_checkpoints_are_written_by_the_agnostic_loop(accum_run):
    state, model, _, _, _ = accum_run
    out = Path(state["out"])
    assert (out / "best" / "model.safetensors").is_file()
    assert (out / "latest" / "training_state.json").is_file()
    assert not (out / "best" / "training_state.json").exists()
    saved = load_tensors(out / "latest" / "model.safetensors")
    assert sorted(saved) == ["head.bias", "head.weight"]
    np.testing.assert_array_equal(saved["head.weight"].numpy(), model.head.weight.numpy())
    assert '"best_step"' in (out / "trainer_state.json").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ non-finite values
class DivergingModel(FakeModel):
    """Its training loss turns NaN from training forward ``nan_from`` on."""

    def __init__(self, nan_from):
        super().__init__()
        self.nan_from = nan_from

    def forward(self, x, labels=None):
        out = super().forward(x, labels)
        if self.training and labels is not None and self.train_forwards >= self.nan_from:
            out["loss"] = out["loss"] * float("nan")
        return out


def fit(backbone, out, model, task=None, *overrides):
    config = load_config(ROOT / "configs/doc/20ng_tiny.yaml", [
        f"Global.output_dir={out}", "Global.log_interval=1", "Train.batch_size=2",
        "Train.eval_batch_size=2", "Train.max_steps=6", "Train.eval_steps=2",
        "Optimizer.warmup_ratio=0", *overrides])
    logger = logging.getLogger(f"test_trainer.nonfinite.{out.name}")
    logger.propagate = False
    handler = ListHandler()
    logger.addHandler(handler)
    vdl = VDLWriter(out / "vdl")
    try:
        state = Trainer(config, task or FakeTask(), model, *backbone, out, logger, vdl,
                        device="cpu").fit(features(N_TRAIN, 0), features(N_DEV, 1))
    finally:
        vdl.close()
        logger.removeHandler(handler)
    return state, handler.messages


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_finite_checkpoint(backbone,
                                                                               tmp_path):
    model = DivergingModel(nan_from=5)         # the 5th update (step 5) is the first NaN one
    with pytest.raises(NonFiniteError, match=rf"^non-finite loss at step 5 \(nan\): training "
                                             rf"stopped; the last checkpoint, from before it, "
                                             rf"is {tmp_path}/latest \(step 4\)"):
        fit(backbone, tmp_path, model)
    assert json.loads((tmp_path / "latest" / "meta.json").read_text())["step"] == 4
    weights = load_tensors(tmp_path / "latest" / "model.safetensors")
    assert all(np.isfinite(w.numpy()).all() for w in weights.values())
    assert model.train_forwards == 5             # stopped at once, not after more updates


def test_a_non_finite_gradient_norm_stops_the_run(backbone, tmp_path, monkeypatch):
    from ernie_res.engine import trainer as trainer_module

    monkeypatch.setattr(trainer_module, "global_grad_norm", lambda params: float("inf"))
    with pytest.raises(NonFiniteError, match=r"^non-finite gradient norm at step 1 \(inf\): "
                                             r"training stopped; no checkpoint had been "
                                             r"written yet"):
        fit(backbone, tmp_path, FakeModel())
    assert not (tmp_path / "latest").exists() and not (tmp_path / "best").exists()


class FlakyMetricTask(FakeTask):
    """Its metric reports NaN at the first evaluation and a real score afterwards."""

    def __init__(self):
        super().__init__()
        self.evaluations = 0

    def build_metric(self):
        task = self

        class Flaky(ScoreMetric):
            def accumulate(self):
                out = super().accumulate()
                task.evaluations += self.n > 0
                if task.evaluations == 1:
                    out["score"] = float("nan")
                return out
        return Flaky()


def test_a_nan_metric_is_never_the_best(backbone, tmp_path):
    state, messages = fit(backbone, tmp_path, FakeModel(), FlakyMetricTask(),
                          "Train.max_steps=4")
    assert np.isnan(state["history"][0]["score"])
    assert state["best_step"] == 4 and np.isfinite(state["best"])
    assert any("score is nan; it is never taken as the best" in m for m in messages)
    assert json.loads((tmp_path / "best" / "meta.json").read_text())["step"] == 4
