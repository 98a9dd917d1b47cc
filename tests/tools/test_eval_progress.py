"""``tools/eval.py`` is not silent on a long evaluation (issue #10, §5): the evaluation loop
(``engine/evaluation.py``) logs batches done, throughput, elapsed time and an ETA through the
``ernie_res`` logger every ~30 s, and stays quiet when the evaluation is shorter than that."""
import logging
import re

import numpy as np
import paddle
import pytest

from ernie_res.engine import evaluation
from ernie_res.utils.log import NAME


class FakeTask:
    def collate(self, feats):
        return {"x": np.array([f["x"] for f in feats], dtype=np.float32),
                "_index": np.array([f["index"] for f in feats], dtype=np.int64)}

    def build_metric(self):
        return FakeMetric()

    def update_metric(self, metric, outputs, batch):
        metric.n += len(batch["_index"])


class FakeMetric:
    def __init__(self):
        self.n = 0

    def accumulate(self):
        return {"n": self.n}


class FakeModel:
    training = False

    def eval(self):
        pass

    def __call__(self, x):
        return {"loss": paddle.to_tensor(1.0), "y": x}


class Clock:
    """Advances ``step`` seconds each time it is read."""

    def __init__(self, step):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t


@pytest.fixture
def lines():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger(NAME)
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def feats(n):
    return [{"x": [float(i)], "index": i} for i in range(n)]


def test_a_short_evaluation_logs_nothing(lines, monkeypatch):
    monkeypatch.setattr(evaluation, "_clock", Clock(0.5))       # 0.5 s per batch
    metrics, _ = evaluation.evaluate(FakeModel(), FakeTask(), feats(40), 4)
    assert metrics["n"] == 40 and metrics["loss"] == pytest.approx(1.0)
    assert lines == []


def test_a_long_evaluation_logs_progress_with_an_eta(lines, monkeypatch):
    monkeypatch.setattr(evaluation, "_clock", Clock(10.0))      # 10 s per batch
    metrics, _ = evaluation.evaluate(FakeModel(), FakeTask(), feats(40), 4)
    assert metrics["n"] == 40
    progress = [ln for ln in lines if ln.startswith("evaluating:")]
    assert 2 <= len(progress) <= 4                               # about every 30 s of 100 s
    first = progress[0]
    assert re.fullmatch(r"evaluating: \d+/10 batches \(\d+/40 examples, [\d.]+ examples/s\), "
                        r"elapsed \d\d:\d\d, eta \d\d:\d\d", first), first
    assert "evaluating: 3/10 batches (12/40 examples, 0.4 examples/s), elapsed 00:30, eta " \
           "01:10" == first
    assert lines[-1] == "evaluated 40 examples in 10 batches in 01:40"


def test_the_interval_can_be_changed(lines, monkeypatch):
    monkeypatch.setattr(evaluation, "_clock", Clock(1.0))
    evaluation.evaluate(FakeModel(), FakeTask(), feats(12), 4, log_every=0)
    assert [ln.split(" (")[0] for ln in lines] == ["evaluating: 1/3 batches",
                                                    "evaluating: 2/3 batches",
                                                    "evaluated 12 examples in 3 batches in "
                                                    "00:03"]
