"""GEN end to end on the bundled PTB-style sample with a tiny ERNIE."""
from pathlib import Path

import numpy as np
import paddle
import pytest

from ernie_res.api import load_config
from ernie_res import api
from ernie_res.data.batching import to_tensors
from ernie_res.engine.trainer import Trainer
from ernie_res.engine.vdl import read_scalars
from ernie_res.models.backbone import load_backbone

ROOT = Path(__file__).resolve().parents[2]


def config(out, tiny, *extra):
    return load_config(ROOT / "configs/gen/ptb_vae_tiny.yaml", [
        f"Global.output_dir={out}", f"Model.backbone={tiny}", "Global.log_interval=1",
        "Train.max_steps=16", "Train.eval_steps=8", "Model.aggressive_max_inner=3",
        "Data.max_examples=200", "Model.dev_iw_samples=2", "Model.iw_samples=4", *extra])


@pytest.fixture(scope="module")
def trained(tiny_ernie, tmp_path_factory):
    out = tmp_path_factory.mktemp("gen_run")
    state = api.train(config(out, tiny_ernie))
    return out, state


def test_vae_trains_with_kl_above_zero(trained):
    out, state = trained
    s = read_scalars(out / "vdl")
    rec = [v for _, v in s["train/rec"]]
    assert np.mean(rec[-4:]) < np.mean(rec[:4])
    assert {"train/kl", "train/beta", "train/elbo", "train/e_steps", "eval/mi", "eval/au",
            "eval/kl", "eval/elbo", "eval/ppl"} <= set(s)
    assert all(v > 0 for _, v in s["eval/kl"])           # no collapse under free bits
    assert s["train/e_steps"][0][1] >= 1                 # aggressive E-steps ran


def test_eval_uses_iw_samples_and_bounds_the_elbo(trained):
    out, _ = trained
    metrics, _, _ = api.evaluate(out / "best", "test")
    assert metrics["nll"] <= -metrics["elbo"] + 1.0     # IW bound is (stochastically) tighter
    assert metrics["ppl"] > 1 and metrics["kl"] > 0


def test_sample_reconstruct_interpolate_produce_text(trained, tmp_path):
    out, _ = trained
    recs = api.predict(out / "best", None, {"mode": "sample", "num_samples": 3,
                                            "max_len": 12}).records
    assert len(recs) == 3 and all(isinstance(r["text"], str) for r in recs)
    assert [r["id"] for r in recs] == ["sample:1", "sample:2", "sample:3"]
    inp = tmp_path / "in.txt"
    inp.write_text("the company said it expects profits\nshares fell in new york\n")
    beam = {"decoding": "beam", "beam_size": 2, "max_len": 8}
    recs = api.predict(out / "best", inp, {"mode": "reconstruct", **beam}).records
    assert [r["input"] for r in recs] == ["the company said it expects profits",
                                          "shares fell in new york"]
    ends = [r["text"] for r in recs]
    recs = api.predict(out / "best", inp, {"mode": "interpolate", "steps": 3, **beam}).records
    assert [r["alpha"] for r in recs] == [0.0, 0.5, 1.0]
    assert [r["id"] for r in recs] == [f"in.txt:1->in.txt:2:{k}" for k in range(3)]
    # beam search is deterministic: the end points decode the two posterior means, exactly
    # as reconstruct does
    assert [recs[0]["text"], recs[2]["text"]] == ends
    assert any(r["text"] for r in recs)


@pytest.mark.slow
@pytest.mark.ci
def test_lm_baseline_trains_on_the_same_tokenisation(tiny_ernie, tmp_path):
    state = api.train(config(tmp_path / "lm", tiny_ernie, "Model.latent_size=0",
                             "Train.max_steps=6", "Train.eval_steps=6"))
    assert state["best"] is not None
    metrics, _, _ = api.evaluate(tmp_path / "lm" / "best", "test")
    assert metrics["kl"] == 0 and metrics["nll"] == pytest.approx(metrics["rec"], rel=1e-6)
    assert metrics["mi"] == 0 and metrics["au"] == 0          # no latent, exactly


def test_svi_refinement_raises_the_elbo(trained):
    """SA-VAE: refining (mu, logvar) by gradient steps on each sentence's ELBO helps it."""
    out, _ = trained
    _, task, model, _ = api.load_model_dir(out / "best")
    batch = task.collate(task.featurize(task.load_examples("dev")[:16], "dev"))
    t = to_tensors(batch)
    dec_in, dec_mask, target, tgt_mask = model._split(t["input_ids"], t["attention_mask"])
    mu, logvar = model.encode(t["input_ids"], t["attention_mask"])

    def neg_elbo(m, lv):
        paddle.seed(0)
        vals = []
        for _ in range(8):
            z = m + paddle.exp(0.5 * lv) * paddle.randn(m.shape)
            rec = model.token_nll(model.decode(dec_in, dec_mask, z), target, tgt_mask)
            vals.append(float((rec + 0.5 * (m ** 2 + lv.exp() - lv - 1).sum(-1)).mean()))
        return np.mean(vals)

    model.config.svi_steps, model.config.svi_lr = 10, 0.05
    r_mu, r_lv = model.refine(mu, logvar, dec_in, dec_mask, target, tgt_mask)
    assert neg_elbo(r_mu, r_lv) < neg_elbo(mu.detach(), logvar.detach())


@pytest.mark.slow
@pytest.mark.ci
def test_resume_during_the_aggressive_phase_is_exact(tiny_ernie, tmp_path, monkeypatch):
    """E-step batches depend only on the step, and the phase switch is saved with the weights."""
    class Interrupt(Exception):
        pass

    args = ["Train.max_steps=8", "Train.eval_steps=4", "Data.max_examples=96"]
    full, cut = tmp_path / "full", tmp_path / "cut"
    api.train(config(full, tiny_ernie, *args))
    original = Trainer._evaluate_and_save

    def crash(self, state, dev):
        original(self, state, dev)
        raise Interrupt()

    monkeypatch.setattr(Trainer, "_evaluate_and_save", crash)
    with pytest.raises(Interrupt):
        api.train(config(cut, tiny_ernie, *args))
    monkeypatch.setattr(Trainer, "_evaluate_and_save", original)
    api.train(config(cut, tiny_ernie, *args), resume=cut / "latest")
    a, b = read_scalars(full / "vdl"), read_scalars(cut / "vdl")
    for tag in ("train/loss", "train/e_steps"):
        for step in range(5, 9):
            assert dict(b[tag])[step] == pytest.approx(dict(a[tag])[step], abs=1e-4), (tag, step)


@pytest.mark.parametrize("extra", [
    ["Model.decoder=transformer", "Model.decoder_hidden=32", "Model.decoder_heads=2",
     "Model.word_dropout=0.3", "Model.beta_schedule=linear", "Model.beta_warmup_steps=3"],
    ["Model.freeze_encoder=true", "Model.aggressive=false", "Model.free_bits=0.0",
     "Model.beta_schedule=constant"],
])
def test_decoder_and_objective_variants_train_and_sample(tiny_ernie, tmp_path, extra):
    out = tmp_path / "v"
    cfg = config(out, tiny_ernie, "Train.max_steps=4", "Train.eval_steps=4",
                 "Data.max_examples=64", *extra)
    encoder, _ = load_backbone(str(tiny_ernie))
    frozen_before = {n: p.numpy().copy() for n, p in encoder.named_parameters()}
    state = api.train(cfg)
    assert state["step"] == 4 and np.isfinite(state["best"])
    _, _, model, _ = api.load_model_dir(out / "best")
    if "Model.freeze_encoder=true" in extra:   # ERNIE's weights are exactly the loaded ones
        for n, p in model.encoder.named_parameters():
            np.testing.assert_array_equal(p.numpy(), frozen_before[n])
    recs = api.predict(out / "best", None, {"mode": "sample", "num_samples": 2, "max_len": 6,
                                            "top_p": 0.9, "sample_top_k": 5,
                                            "temperature": 0.7}).records
    assert len(recs) == 2
