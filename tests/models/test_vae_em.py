"""The text VAE's training step (models/vae_em.py): the E-step loop and the AggressiveEM hooks
against a fake StepContext and a fake model, then one integration check with the real
TextVAE and StepContext (E-step moves only the encoder, M-step only the decoder)."""
from pathlib import Path

import numpy as np
import pytest

from ernie_res.api import load_config
from ernie_res.engine.amp import AMP
from ernie_res.engine.optim import build_optimizer
from ernie_res.engine.step_context import StepContext
from ernie_res.models.backbone import load_backbone
from ernie_res.models.base import TrainStrategy
from ernie_res.models.vae_em import CHECK_EVERY, SEED_OFFSET, AggressiveEM, e_step
from ernie_res.tasks.gen import GenTask

ROOT = Path(__file__).resolve().parents[2]


class FakeCtx:
    """Records every primitive used; ``forward`` returns the scripted losses in turn."""

    def __init__(self, losses=(), n_batches=None):
        self.losses = list(losses)
        self.n_batches = n_batches
        self.calls = []

    def fresh_batches(self, seed_offset, epoch):
        self.calls.append(("fresh_batches", seed_offset, epoch))
        k = 0
        while self.n_batches is None or k < self.n_batches:
            yield {"batch": k}
            k += 1

    def forward(self, batch):
        self.calls.append(("forward", batch["batch"]))
        return {"loss": self.losses.pop(0) if self.losses else 1.0}

    def backward(self, loss):
        self.calls.append(("backward", loss))

    def update(self, frozen=()):
        self.calls.append(("update", frozen))

    def release(self, params):
        self.calls.append(("release", params))

    def names(self):
        return [c[0] for c in self.calls]


class FakeModel:
    """The five methods AggressiveEM uses; ``active`` scripts the phase."""

    def __init__(self, active=True):
        self.active = active
        self.enc, self.dec = ["enc-param"], ["dec-param"]
        self.calls = []

    def set_step(self, step, total):
        self.calls.append(("set_step", step, total))

    def aggressive_active(self):
        return self.active

    def encoder_parameters(self):
        return self.enc

    def decoder_parameters(self):
        return self.dec

    def after_eval(self, metrics):
        self.calls.append(("after_eval", metrics))
        return "a note"


def test_e_step_calls_forward_backward_update_in_order():
    ctx = FakeCtx(losses=[3.0, 2.0])
    frozen = ["decoder"]
    assert e_step(ctx, frozen, step=4, max_inner=2) == 2
    assert ctx.calls[0] == ("fresh_batches", SEED_OFFSET, 4)      # batches seeded by the step
    assert ctx.names()[1:] == ["forward", "backward", "update"] * 2
    assert [c[1] for c in ctx.calls if c[0] == "forward"] == [0, 1]   # fresh batch each time
    assert [c[1] for c in ctx.calls if c[0] == "backward"] == [3.0, 2.0]
    assert all(c[1] is frozen for c in ctx.calls if c[0] == "update")   # the decoder is frozen


def test_e_step_is_capped_at_max_inner():
    ctx = FakeCtx(losses=[100.0 - k for k in range(100)])           # always improving
    assert e_step(ctx, [], step=0, max_inner=30) == 30
    assert ctx.names().count("update") == 30
    ctx = FakeCtx(losses=[100.0 - k for k in range(100)])
    assert e_step(ctx, [], step=0, max_inner=7) == 7                # not a multiple of 5


def test_e_step_stops_when_the_mean_loss_stops_falling():
    assert CHECK_EVERY == 5
    # groups of five: mean 10, then 9 (lower: go on), then 9.5 (not lower: stop)
    ctx = FakeCtx(losses=[10.0] * 5 + [9.0] * 5 + [9.5] * 5 + [1.0] * 20)
    assert e_step(ctx, [], step=0, max_inner=30) == 15
    assert ctx.names().count("update") == 15                     # the 15th update was made
    # an equal mean is "not lower"
    ctx = FakeCtx(losses=[4.0, 6.0, 5.0, 5.0, 5.0] + [5.0] * 5 + [0.0] * 20)
    assert e_step(ctx, [], step=0, max_inner=30) == 10
    # within a group the losses may go up and down: only group means are compared
    ctx = FakeCtx(losses=[9.0, 1.0, 9.0, 1.0, 9.0] + [1.0, 9.0, 1.0, 9.0, 1.0] + [9.0] * 5)
    assert e_step(ctx, [], step=0, max_inner=30) == 15
    # the first group never stops the loop
    ctx = FakeCtx(losses=[1e9] * 5 + [1.0] * 5 + [0.5] * 5 + [0.4] * 5 + [0.4] * 5)
    assert e_step(ctx, [], step=0, max_inner=30) == 25


def test_e_step_ends_with_the_batches():
    ctx = FakeCtx(n_batches=3)
    assert e_step(ctx, [], step=1, max_inner=30) == 3
    assert e_step(FakeCtx(n_batches=0), [], step=1, max_inner=30) == 0


def test_begin_update_sets_the_step_and_runs_e_steps_while_aggressive():
    model = FakeModel(active=True)
    strategy = AggressiveEM(model, max_inner=3)
    assert isinstance(strategy, TrainStrategy)
    ctx = FakeCtx()
    assert strategy.begin_update(ctx, 6, 20) == {"e_steps": 3}
    assert model.calls == [("set_step", 6, 20)]
    assert ctx.calls[0] == ("fresh_batches", SEED_OFFSET, 6)
    assert [c[1] for c in ctx.calls if c[0] == "update"] == [model.dec] * 3

    model.active = False
    ctx = FakeCtx()
    assert strategy.begin_update(ctx, 7, 20) == {}
    assert model.calls[-1] == ("set_step", 7, 20) and ctx.calls == []   # beta still moves


def test_before_optimizer_step_releases_the_encoder_only_while_aggressive():
    model = FakeModel(active=True)
    strategy = AggressiveEM(model, max_inner=3)
    ctx = FakeCtx()
    strategy.before_optimizer_step(ctx)
    assert ctx.calls == [("release", model.enc)]                   # the M-step: decoder only
    model.active = False
    ctx = FakeCtx()
    strategy.before_optimizer_step(ctx)
    assert ctx.calls == []                                          # joint training


def test_after_evaluation_delegates_to_the_model():
    model = FakeModel()
    assert AggressiveEM(model, 3).after_evaluation({"mi": 0.1}) == "a note"
    assert model.calls == [("after_eval", {"mi": 0.1})]


def config(out, tiny, *extra):
    return load_config(ROOT / "configs/gen/ptb_vae_tiny.yaml", [
        f"Global.output_dir={out}", f"Model.backbone={tiny}", "Global.log_interval=1",
        "Train.max_steps=16", "Train.eval_steps=8", "Model.aggressive_max_inner=3",
        "Data.max_examples=200", "Model.dev_iw_samples=2", "Model.iw_samples=4", *extra])


def test_e_step_changes_only_encoder_and_m_step_only_decoder(tiny_ernie, tmp_path):
    cfg = config(tmp_path, tiny_ernie, "Model.dropout=0.0")
    encoder, tok = load_backbone(str(tiny_ernie))
    task = GenTask(cfg, tok, labels=[])
    feats = task.featurize(task.load_examples("train")[:64], "train")
    model = task.build_model(encoder)
    optimizer, _ = build_optimizer(model, cfg.Optimizer, 10, 1.0)
    ctx = StepContext(model, optimizer, AMP(False), feats, task.collate, 8, seed=0)
    enc = {id(p) for p in model.encoder_parameters()}
    assert enc and model.decoder_parameters()
    snap = lambda: {id(p): p.numpy().copy() for p in model.parameters()}  # noqa: E731
    before = snap()
    n = e_step(ctx, model.decoder_parameters(), step=0, max_inner=2)
    after = snap()
    assert n == 2
    changed = {k for k in before if not np.array_equal(before[k], after[k])}
    assert changed and changed <= enc                       # E-step: encoder only
    strategy = model.train_strategy()
    ctx.backward(ctx.forward(task.collate(feats[:8]))["loss"])
    strategy.before_optimizer_step(ctx)                     # the M-step releases the encoder
    optimizer.step()
    optimizer.clear_grad()
    final = snap()
    changed = {k for k in after if not np.array_equal(after[k], final[k])}
    assert changed and not (changed & enc)                  # M-step: decoder only


@pytest.mark.parametrize("losses,expected", [([5.0] * 12, 10),
                                             ([5.0] * 5 + [4.0] * 5 + [9.0] * 2, 12)])
def test_e_step_stop_or_cap(losses, expected):
    """max_inner = 12: a flat loss stops after the second group, a falling one reaches the
    cap (the third group is never complete)."""
    ctx = FakeCtx(losses=losses)
    assert e_step(ctx, [], step=0, max_inner=12) == expected
