"""engine.evaluation.evaluate with a fake task and a fake model: the example-weighted loss,
the metric fed once per batch, the model's mode restored."""
import contextlib

import numpy as np
import paddle
import pytest

from ernie_res.engine.amp import AMP
from ernie_res.engine.evaluation import evaluate
from ernie_res.metrics.base import Metric
from ernie_res.models.base import TaskModel


class SumMetric(Metric):
    main_key = "total"

    def __init__(self):
        self.reset()

    def reset(self):
        self.batches = []

    def update(self, outputs, batch):
        self.batches.append((outputs, batch))

    def accumulate(self):
        return {"total": float(sum(o["value"].sum() for o, _ in self.batches))}


class FakeTask:
    def __init__(self, with_labels=True):
        self.with_labels = with_labels
        self.metrics = []

    def collate(self, features):
        batch = {"value": np.array([f["value"] for f in features], dtype="float32"),
                 "_index": np.array([f["index"] for f in features], dtype="int64")}
        if self.with_labels:
            batch["labels"] = np.array([f["index"] for f in features], dtype="int64")
        return batch

    def build_metric(self):
        self.metrics.append(SumMetric())
        return self.metrics[-1]

    def update_metric(self, metric, outputs, batch):
        metric.update(outputs, batch)


class FakeModel(TaskModel):
    """The loss of a batch is the mean of its values; records its mode and grad state."""

    def __init__(self):
        super().__init__()
        self.scale = paddle.create_parameter([1], "float32",
                                             default_initializer=paddle.nn.initializer.Constant(1.))
        self.calls = []

    def forward(self, value, labels=None):
        out = {"value": value * self.scale, "not_a_tensor": [1, 2]}
        self.calls.append({"training": self.training,
                           "grad": not out["value"].stop_gradient,
                           "keys": "labels" if labels is not None else "value"})
        if labels is not None:
            out["loss"] = (value * self.scale).mean()
        return out


VALUES = [1.0, 2.0, 3.0, 4.0, 10.0]
FEATS = [{"value": v, "index": i} for i, v in enumerate(VALUES)]


@pytest.mark.parametrize("training", [True, False])
def test_example_weighted_loss_metric_per_batch_and_mode_restored(training):
    model, task = FakeModel(), FakeTask()
    (model.train if training else model.eval)()
    metrics, metric = evaluate(model, task, FEATS, batch_size=2)
    # batches [1, 2], [3, 4], [10]: the mean over examples is 4.0; the mean of the three
    # batch means (1.5, 3.5, 10) would be 5.0
    assert metrics["loss"] == pytest.approx(4.0)
    assert metrics["total"] == pytest.approx(20.0)
    assert metric is task.metrics[-1] and len(task.metrics) == 1
    assert len(metric.batches) == 3
    for k, (outputs, batch) in enumerate(metric.batches):
        assert set(outputs) == {"value", "loss"}                  # NumPy arrays only
        assert all(isinstance(v, np.ndarray) for v in outputs.values())
        np.testing.assert_array_equal(batch["_index"], np.arange(5)[2 * k:2 * k + 2])
    assert model.calls == [{"training": False, "grad": False, "keys": "labels"}] * 3
    assert model.training == training


def test_no_loss_without_labels():
    model, task = FakeModel(), FakeTask(with_labels=False)
    metrics, _ = evaluate(model, task, FEATS, batch_size=4)
    assert metrics == {"total": pytest.approx(20.0)}
    assert [c["keys"] for c in model.calls] == ["value", "value"]


def test_the_forward_runs_under_the_amp_autocast():
    class CountingAMP(AMP):
        def __init__(self):
            super().__init__(False)
            self.blocks = 0

        def autocast(self):
            self.blocks += 1
            return contextlib.nullcontext()

    amp = CountingAMP()
    evaluate(FakeModel(), FakeTask(), FEATS, batch_size=2, amp=amp)
    assert amp.blocks == 3
