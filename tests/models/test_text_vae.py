"""TextVAE on the tiny ERNIE: outputs and the objective, gradients, the LM baseline, the final
evaluation's importance samples, the training hooks' state (beta step, aggressive phase)."""
from pathlib import Path

import numpy as np
import paddle
import pytest

from ernie_res.api import load_config
from ernie_res.config import ConfigError
from ernie_res.models.backbone import load_backbone
from ernie_res.models.text_vae import TextVAE, TextVAEConfig
from ernie_res.models.vae_em import AggressiveEM

ROOT = Path(__file__).resolve().parents[2]
B = 3


def make(tiny, **kw):
    paddle.seed(0)
    encoder, tok = load_backbone(str(tiny))
    c = dict(latent_size=4, decoder="gru", decoder_hidden=16, decoder_layers=1, max_len=16,
             decoder_heads=2)
    c.update(kw)
    return TextVAE(TextVAEConfig(**c), encoder, vocab_size=len(tok), pad_id=tok.pad_token_id,
                   unk_id=tok.unk_token_id, bos_id=tok.cls_token_id, eos_id=tok.sep_token_id)


def batch():
    """``[CLS] w .. [SEP]`` of 8, 5 and 3 tokens."""
    rng = np.random.RandomState(0)
    ids = np.zeros((B, 8), dtype=np.int64)
    for r, n in enumerate((8, 5, 3)):
        ids[r, :n] = [1] + list(rng.randint(5, 1800, n - 2)) + [2]
    return {"input_ids": paddle.to_tensor(ids),
            "attention_mask": paddle.to_tensor((ids > 0).astype(np.int64))}


def test_outputs_and_the_objective(tiny_ernie):
    model = make(tiny_ernie, beta_schedule="constant", beta_max=0.5, free_bits=0.0,
                 dev_iw_samples=2)
    model.train()
    out = model(**batch())
    assert set(out) == {"loss", "rec", "kl", "mu", "logvar", "num_tokens", "log"}
    assert [out[k].shape for k in ("rec", "kl", "num_tokens")] == [[B]] * 3
    assert out["mu"].shape == [B, 4] == out["logvar"].shape
    assert out["num_tokens"].numpy().tolist() == [7, 4, 2]          # [SEP] in, [CLS] out
    assert set(out["log"]) == {"rec", "kl", "beta", "elbo"}
    assert out["log"]["beta"] == 0.5
    rec, kl = out["rec"].numpy(), out["kl"].numpy()
    assert (rec > 0).all() and (kl >= 0).all()
    assert float(out["loss"]) == pytest.approx(rec.mean() + 0.5 * kl.mean(), rel=1e-5)
    assert float(out["log"]["elbo"]) == pytest.approx(-(rec + kl).mean(), rel=1e-5)
    mu, lv = out["mu"].numpy(), out["logvar"].numpy()
    np.testing.assert_allclose(kl, 0.5 * (mu ** 2 + np.exp(lv) - lv - 1).sum(-1), rtol=1e-4)


def test_backward_reaches_encoder_and_decoder(tiny_ernie):
    model = make(tiny_ernie)
    model.train()
    model(**batch())["loss"].backward()
    for name, layer in (("embed", model.embed), ("decoder", model.decoder), ("out", model.out),
                        ("posterior", model.posterior), ("pool", model.pool),
                        ("injector", model.injector), ("encoder", model.encoder)):
        grads = [p.grad for p in layer.parameters()]
        assert any(g is not None and float(g.abs().sum()) > 0 for g in grads), name


def test_padding_does_not_change_a_sentence(tiny_ernie):
    """Padding changes neither q(z|x) nor -log p(x|z): only real tokens are encoded and
    scored."""
    model = make(tiny_ernie, dropout=0.0)
    model.eval()
    b = batch()

    def score(ids, mask):
        dec_in, dec_mask, target, tgt_mask = model._split(ids, mask)
        mu, logvar = model.encode(ids, mask)
        rec = model.token_nll(model.decode(dec_in, dec_mask, mu), target, tgt_mask)
        return mu.numpy(), logvar.numpy(), rec.numpy()

    padded = score(b["input_ids"], b["attention_mask"])
    alone = score(b["input_ids"][2:, :3], b["attention_mask"][2:, :3])
    for p, a in zip(padded, alone):
        np.testing.assert_allclose(p[2], a[0], rtol=1e-5, atol=1e-5)


def test_lm_baseline_has_no_latent(tiny_ernie):
    model = make(tiny_ernie, latent_size=0, aggressive=True)
    assert not hasattr(model, "encoder") and not hasattr(model, "posterior")
    assert model.encoder_parameters() == [] and not model.aggressive_active()
    model.train()
    out = model(**batch())
    assert out["kl"].numpy().tolist() == [0.0] * B and out["mu"].shape == [B, 0]
    assert out["logvar"].shape == [B, 0]
    np.testing.assert_array_equal(out["iw_nll"].numpy(), out["rec"].numpy())
    assert float(out["loss"]) == pytest.approx(float(out["rec"].mean()), rel=1e-6)
    assert set(out["log"]) == {"rec"}
    out["loss"].backward()
    assert model.out.weight.grad is not None


def test_final_eval_switches_the_importance_samples(tiny_ernie):
    model = make(tiny_ernie, dev_iw_samples=0, iw_samples=3)
    used = []
    iw = model.iw_nll

    def spy(*args):
        used.append(args[-1])
        return iw(*args)

    model.iw_nll = spy
    model.eval()
    assert "iw_nll" not in model(**batch())                        # dev: the negative ELBO
    model.set_final_eval()
    out = model(**batch())
    assert out["iw_nll"].shape == [B] and used == [3]
    assert np.isfinite(out["iw_nll"].numpy()).all()
    model.train()
    assert "iw_nll" not in model(**batch())                        # never while training
    model.eval()
    model.set_final_eval(False)
    assert "iw_nll" not in model(**batch()) and used == [3]
    model.config.dev_iw_samples = 2
    assert model(**batch())["iw_nll"].shape == [B] and used == [3, 2]


def test_importance_samples_are_batched_not_looped(tiny_ernie, monkeypatch):
    """The final evaluation's IW-NLL decodes every sentence of the batch with many samples per
    call (issue #10: 2.7k sentences took 25+ minutes): one call when the logits fit
    ``IW_LOGITS_ELEMENTS``, else chunks of samples, never one sample or one sentence at a time."""
    from ernie_res.models import text_vae

    model = make(tiny_ernie, iw_samples=50)
    model.eval()
    model.set_final_eval()
    calls = []
    real = model.decode

    def spy(dec_in, dec_mask, z):
        calls.append(dec_in.shape[0])
        return real(dec_in, dec_mask, z)

    model.decode = spy
    paddle.seed(1)
    whole = model(**batch())["iw_nll"].numpy()
    assert calls == [B, B * 50]               # the one-sample reconstruction, then all of IW
    t = batch()["input_ids"].shape[1] - 1
    monkeypatch.setattr(text_vae, "IW_LOGITS_ELEMENTS", B * t * model.vocab_size * 20)
    calls.clear()
    paddle.seed(1)
    chunked = model(**batch())["iw_nll"].numpy()
    assert calls == [B, B * 20, B * 20, B * 10]
    np.testing.assert_allclose(chunked, whole, rtol=1e-5)
    assert text_vae.IW_LOGITS_ELEMENTS == B * t * model.vocab_size * 20
    monkeypatch.undo()
    assert 5e7 <= text_vae.IW_LOGITS_ELEMENTS <= 2e8     # 200-800 MB of float32 logits


def test_eval_is_deterministic_given_the_seed(tiny_ernie):
    model = make(tiny_ernie, dropout=0.3)
    model.eval()
    a, b = model(**batch()), model(**batch())
    np.testing.assert_array_equal(a["mu"].numpy(), b["mu"].numpy())
    np.testing.assert_array_equal(a["logvar"].numpy(), b["logvar"].numpy())
    paddle.seed(5)
    a = model(**batch())
    paddle.seed(5)
    b = model(**batch())
    np.testing.assert_array_equal(a["rec"].numpy(), b["rec"].numpy())


def test_transformer_decoder(tiny_ernie):
    model = make(tiny_ernie, decoder="transformer", max_len=8, word_dropout=0.5)
    model.train()
    out = model(**batch())
    assert out["rec"].shape == [B] and np.isfinite(float(out["loss"]))
    with pytest.raises(ConfigError, match="decoder_heads: expected a divisor of decoder_hidden"):
        TextVAEConfig(decoder="transformer", decoder_hidden=16, decoder_heads=3)


def test_beta_follows_the_step(tiny_ernie):
    model = make(tiny_ernie, beta_schedule="linear", beta_warmup_steps=10, beta_max=0.8)
    model.set_step(0, 100)
    assert model.beta() == 0.0
    model.set_step(5, 100)
    assert model.beta() == pytest.approx(0.4)
    assert model.step_state.numpy().tolist() == [5, 100]
    model.set_step(50, 100)
    assert model.beta() == pytest.approx(0.8)
    model.set_step(0, 0)
    assert model.step_state.numpy().tolist() == [0, 1]


def test_encoder_and_decoder_parameters_partition_the_model(tiny_ernie):
    model = make(tiny_ernie)
    enc = {id(p) for p in model.encoder_parameters()}
    dec = {id(p) for p in model.decoder_parameters()}
    assert enc and dec and not enc & dec
    assert enc | dec == {id(p) for p in model.parameters() if not p.stop_gradient}
    assert {id(p) for p in model.encoder.parameters()} <= enc
    assert {id(p) for p in model.posterior.parameters()} <= enc
    assert {id(p) for p in model.decoder.parameters()} <= dec
    frozen = make(tiny_ernie, freeze_encoder=True)
    assert all(p.stop_gradient for p in frozen.encoder.parameters())
    f_enc = {id(p) for p in frozen.encoder_parameters()}
    assert f_enc == {id(p) for layer in (frozen.pool, frozen.posterior)
                     for p in layer.parameters()}
    assert not f_enc & {id(p) for p in frozen.decoder_parameters()}


def test_train_strategy_is_aggressive_em(tiny_ernie):
    model = make(tiny_ernie, aggressive_max_inner=7)
    strategy = model.train_strategy()
    assert isinstance(strategy, AggressiveEM)
    assert strategy.model is model and strategy.max_inner == 7
    assert make(tiny_ernie, aggressive=False).aggressive_active() is False


def test_mi_stopping_rule_ends_the_aggressive_phase(tiny_ernie):
    cfg = load_config(ROOT / "configs/gen/ptb_vae_tiny.yaml", [f"Model.backbone={tiny_ernie}"])
    encoder, tok = load_backbone(str(tiny_ernie))
    model = TextVAE(cfg.Model, encoder, vocab_size=len(tok), pad_id=tok.pad_token_id,
                    unk_id=tok.unk_token_id, bos_id=tok.cls_token_id, eos_id=tok.sep_token_id)
    assert model.aggressive_active()
    assert model.after_eval({"mi": 0.3}) is None and model.aggressive_active()
    assert model.after_eval({"mi": 0.5}) is None
    note = model.after_eval({"mi": 0.4})
    assert "ended" in note and not model.aggressive_active()
    assert model.after_eval({"mi": 0.9}) is None and not model.aggressive_active()


def test_the_phase_is_saved_with_the_weights(tiny_ernie):
    model = make(tiny_ernie)
    model.after_eval({"mi": 0.5})
    assert model.after_eval({"mi": 0.2}).startswith("aggressive encoder updates ended: dev MI "
                                                    "0.2000 did not rise above 0.5000")
    state = model.state_dict()
    assert state["aggressive_state"].numpy().tolist() == [0.0, 0.5]
    fresh = make(tiny_ernie)
    assert fresh.aggressive_active()
    fresh.set_state_dict(state)
    assert not fresh.aggressive_active()


@pytest.mark.parametrize("decoder", ["gru", "transformer"])
@pytest.mark.parametrize("latent_size", [4, 0])
def test_export_programs_are_an_encoder_and_a_decoder_step(tiny_ernie, decoder, latent_size):
    model = make(tiny_ernie, decoder=decoder, latent_size=latent_size, decoder_layers=2)
    programs = model.export_programs()
    z = [("z", [None, 4], "float32")] if latent_size else []
    if decoder == "gru":
        step_inputs = [("token", [None], "int64"), ("state", [2, None, 16], "float32")]
        step_inputs += [("first", [1], "int64")] + z if latent_size else []
        step_outputs = ("logits", "state")
    else:
        cache = [2, None, 2, None, 8]                       # [L, B, heads, t, D / heads]
        step_inputs = [("token", [None], "int64"), ("keys", cache, "float32"),
                       ("values", cache, "float32")] + z
        step_outputs = ("logits", "keys", "values")
    assert list(programs["decoder_step"].inputs) == step_inputs
    assert programs["decoder_step"].outputs == step_outputs
    if latent_size == 0:                                   # the LM: no latent, no encoder
        assert list(programs) == ["decoder_step"]
        return
    assert list(programs) == ["encoder", "decoder_step"]
    enc = programs["encoder"]
    assert list(enc.inputs) == [("input_ids", [None, None], "int64"),
                                ("attention_mask", [None, None], "int64")]
    assert enc.outputs == ("mu",)
    model.eval()
    b = batch()
    with paddle.no_grad():
        mu = enc.layer(b["input_ids"], b["attention_mask"]).numpy()
        want = model.encode(b["input_ids"], b["attention_mask"])[0].numpy()
    np.testing.assert_array_equal(mu, want)


@pytest.mark.parametrize("decoder", ["gru", "transformer"])
@pytest.mark.parametrize("latent_size", [4, 0])
def test_decoder_steps_give_the_teacher_forced_logits(tiny_ernie, decoder, latent_size):
    """Reading a sentence token by token through the ``decoder_step`` program gives, at each
    position, the logits ``decode`` gives the whole sentence at once (eval mode)."""
    model = make(tiny_ernie, decoder=decoder, latent_size=latent_size, decoder_layers=2,
                 dropout=0.3)
    model.eval()
    ids = batch()["input_ids"][:1]                                  # [CLS] w_1 .. w_6 [SEP]
    z = paddle.randn([1, 4]) if latent_size else None
    step = model.export_programs()["decoder_step"].layer
    with paddle.no_grad():
        want = model.decode(ids, paddle.ones_like(ids), z).numpy()[0]    # [T, V]
        got = []
        state = ([paddle.zeros([2, 1, 16])] if decoder == "gru"          # GRU: [L, B, D]
                 else [paddle.zeros([2, 1, 2, 0, 8])] * 2)              # empty keys, values
        for t in range(ids.shape[1]):
            first = [paddle.to_tensor([int(t == 0)], dtype="int64")] if decoder == "gru" else []
            logits, *state = step(ids[:, t], *state, *(first + [z] if latent_size else []))
            got.append(logits.numpy()[0])
        if decoder == "transformer":                         # the cache has every position
            assert [x.shape for x in state] == [[2, 1, 2, ids.shape[1], 8]] * 2
    np.testing.assert_allclose(np.stack(got), want, rtol=0, atol=1e-5)


def test_the_gru_step_starts_from_z_only_on_the_first_step(tiny_ernie):
    model = make(tiny_ernie)
    model.eval()
    step = model.export_programs()["decoder_step"].layer
    token, z = paddle.to_tensor([1, 1], dtype="int64"), paddle.randn([2, 4])
    anything = paddle.randn([1, 2, 16])
    with paddle.no_grad():
        first = [x.numpy() for x in step(token, anything, paddle.to_tensor([1]), z)]
        fresh = [x.numpy() for x in step(token, paddle.zeros([1, 2, 16]), paddle.to_tensor([1]),
                                         z)]
        later = step(token, anything, paddle.to_tensor([0]), z)[0].numpy()
    for a, b in zip(first, fresh):                            # the given state is ignored
        np.testing.assert_array_equal(a, b)
    assert np.abs(later - first[0]).max() > 1e-4
