"""GEN inference runs in batches of ``batch_size`` (issue #10, §5): reconstructing 12k lines
took more than 9.2 GB because every sentence was encoded and decoded at once.

A spy on the model's ``encode`` and ``decode`` records how many rows each call had; a few
hundred lines with ``batch_size`` 32 must never reach the model more than 32 at a time, and
greedy results must not depend on the batch size.
"""
from pathlib import Path

import paddle
import pytest

from ernie_res.api import load_config
from ernie_res.models.backbone import load_backbone
from ernie_res.tasks.gen import GenTask

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("the company said it expects profits shares fell in new york and the market rose "
         "after a report on prices").split()


@pytest.fixture(scope="module")
def task(tiny_ernie, tokenizer):
    cfg = load_config(ROOT / "configs/gen/ptb_vae_tiny.yaml", [
        f"Model.backbone={tiny_ernie}", "Model.latent_size=4", "Model.decoder_hidden=16"])
    return GenTask(cfg, tokenizer, labels=[])


@pytest.fixture(scope="module")
def model(task, tiny_ernie):
    paddle.seed(0)
    m = task.build_model(load_backbone(str(tiny_ernie))[0])
    m.eval()
    return m


@pytest.fixture
def spy(model, monkeypatch):
    rows = {"encode": [], "decode": []}
    for name in rows:
        real = getattr(model, name)

        def wrapped(ids, *args, _real=real, _name=name):
            rows[_name].append(ids.shape[0])
            return _real(ids, *args)
        monkeypatch.setattr(model, name, wrapped)
    return rows


def sentences(n):
    return [{"id": f"in:{i + 1}", "line": i + 1,
             "text": " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(3 + i % 9))}
            for i in range(n)]


GREEDY = {"decoding": "greedy", "max_len": 3}


def test_reconstruct_encodes_and_decodes_in_batches(task, model, spy):
    ex = sentences(300)
    recs = task.predict(model, ex, {"mode": "reconstruct", "batch_size": 32, **GREEDY})
    assert [r["id"] for r in recs] == [e["id"] for e in ex]
    assert sum(spy["encode"]) == 300 and max(spy["encode"]) == 32
    assert max(spy["decode"]) <= 32
    spy["encode"].clear()
    again = task.predict(model, ex[:40], {"mode": "reconstruct", "batch_size": 1000,
                                          **GREEDY})
    assert spy["encode"] == [40]                                  # one batch when it fits
    assert [r["text"] for r in again] == [r["text"] for r in recs[:40]]


def test_reconstruct_defaults_to_the_eval_batch_size(task, model, spy):
    task.predict(model, sentences(120), {"mode": "reconstruct", **GREEDY})
    assert max(spy["encode"]) == task.config.Train.eval_batch_size == 50
    assert max(spy["decode"]) <= 50


def test_interpolate_encodes_in_batches_and_decodes_long_lines_in_batches(task, model, spy):
    ex = sentences(40)
    recs = task.predict(model, ex, {"mode": "interpolate", "steps": 20, "batch_size": 8,
                                    **GREEDY})
    assert len(recs) == 39 * 20
    assert sum(spy["encode"]) == 40 and max(spy["encode"]) == 8
    assert max(spy["decode"]) <= 8


def test_sample_decodes_in_batches(task, model, spy):
    recs = task.predict(model, [], {"mode": "sample", "num_samples": 50, "batch_size": 16,
                                    "max_len": 3, "seed": 3})
    assert [r["id"] for r in recs] == [f"sample:{i}" for i in range(1, 51)]
    assert max(spy["decode"]) == 16 and spy["encode"] == []
    few = task.predict(model, [], {"mode": "sample", "num_samples": 5, "max_len": 3,
                                   "seed": 3})
    same = task.predict(model, [], {"mode": "sample", "num_samples": 5, "max_len": 3,
                                    "seed": 3, "batch_size": 5})
    assert few == same                             # a run that fits one batch is unchanged
