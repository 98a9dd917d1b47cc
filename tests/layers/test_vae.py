"""Tests for ernie_res.layers.vae: closed forms, Monte-Carlo checks, gradients, error text."""
import math

import numpy as np
import paddle
import pytest

from ernie_res.layers.vae import (
    LOGVAR_MAX,
    LOGVAR_MIN,
    GaussianPosterior,
    LatentInjector,
    WordDropout,
    free_bits_kl,
    gaussian_kl,
    log_normal,
    log_standard_normal,
    reparameterize,
    word_dropout,
)


def _t(a, dtype="float64"):
    return paddle.to_tensor(np.asarray(a, dtype=dtype))


# ---------------------------------------------------------------------------- GaussianPosterior


def test_posterior_is_two_linear_maps_with_clamped_logvar():
    paddle.seed(0)
    layer = GaussianPosterior(hidden_size=3, latent_size=2)
    rng = np.random.default_rng(0)
    h = rng.standard_normal((4, 3)).astype("float32")
    h[0] *= 1e4  # drives logvar far outside the clamp range in both directions
    out = layer(_t(h, "float32"))
    w_mu, b_mu = layer.mu.weight.numpy(), layer.mu.bias.numpy()
    w_lv, b_lv = layer.logvar.weight.numpy(), layer.logvar.bias.numpy()
    np.testing.assert_allclose(out["mu"].numpy(), h @ w_mu + b_mu, rtol=1e-5, atol=1e-3)
    raw = h @ w_lv + b_lv
    np.testing.assert_allclose(out["logvar"].numpy(), np.clip(raw, LOGVAR_MIN, LOGVAR_MAX),
                               rtol=1e-5, atol=1e-4)
    assert (raw[0] > LOGVAR_MAX).any() or (raw[0] < LOGVAR_MIN).any()
    assert out["logvar"].shape == [4, 2] and out["mu"].shape == [4, 2]


def test_posterior_rejects_bad_shapes_with_clear_messages():
    layer = GaussianPosterior(3, 2)
    with pytest.raises(ValueError, match=r"GaussianPosterior: expected h of shape "
                                         r"\[batch_size, 3\], got \[4, 5\]"):
        layer(paddle.zeros([4, 5]))
    with pytest.raises(ValueError, match=r"expected h of shape \[batch_size, 3\], got \[4, 1, 3\]"):
        layer(paddle.zeros([4, 1, 3]))
    with pytest.raises(ValueError, match="expected h of a floating dtype, got paddle.int64"):
        layer(paddle.zeros([4, 3], dtype="int64"))
    with pytest.raises(ValueError, match="expected positive hidden_size and latent_size, "
                                         "got 3 and 0"):
        GaussianPosterior(3, 0)
    with pytest.raises(ValueError, match="expected logvar_min < logvar_max, got 1 and 1"):
        GaussianPosterior(3, 2, logvar_min=1, logvar_max=1)


# ------------------------------------------------------------------------------- reparameterize


def test_reparameterize_has_the_posterior_mean_and_variance():
    paddle.seed(1)
    mu = np.array([[0.0, 2.0, -1.0], [3.0, 0.5, 0.0]])
    logvar = np.array([[0.0, math.log(4.0), -2.0], [1.0, 0.0, math.log(0.25)]])
    s = 20000
    z = reparameterize(_t(mu), _t(logvar), num_samples=s).numpy()
    assert z.shape == (2, s, 3)
    var = np.exp(logvar)
    # 5 standard errors: mean se = sd/sqrt(S); variance se = var*sqrt(2/S)
    assert (np.abs(z.mean(1) - mu) < 5 * np.sqrt(var / s)).all()
    assert (np.abs(z.var(1) - var) < 5 * var * np.sqrt(2.0 / s)).all()


def test_reparameterize_gradients_reach_mu_and_logvar_exactly():
    paddle.seed(2)
    mu = _t([[0.3, -1.0]])
    logvar = _t([[0.2, -0.4]])
    mu.stop_gradient = False
    logvar.stop_gradient = False
    z = reparameterize(mu, logvar, num_samples=5)
    (z * z).sum().backward()
    zn = z.numpy()[0]
    std = np.exp(0.5 * logvar.numpy()[0])
    eps = (zn - mu.numpy()[0]) / std  # the noise that was drawn
    # d/dmu sum z^2 = sum 2 z ; d/dlogvar = sum 2 z * eps * std / 2
    np.testing.assert_allclose(mu.grad.numpy()[0], (2 * zn).sum(0), rtol=1e-10)
    np.testing.assert_allclose(logvar.grad.numpy()[0], (zn * eps * std).sum(0), rtol=1e-10)


def test_reparameterize_errors():
    with pytest.raises(ValueError, match=r"reparameterize: expected mu and logvar of the same "
                                         r"shape, got \[2, 3\] and \[2, 4\]"):
        reparameterize(paddle.zeros([2, 3]), paddle.zeros([2, 4]))
    with pytest.raises(ValueError, match="expected num_samples to be an int >= 1, got 0"):
        reparameterize(paddle.zeros([2, 3]), paddle.zeros([2, 3]), num_samples=0)
    with pytest.raises(ValueError, match=r"expected mu of shape \[batch_size, latent_size\], "
                                         r"got \[3\]"):
        reparameterize(paddle.zeros([3]), paddle.zeros([3]))


# ------------------------------------------------------------------------------- KL, densities


def test_gaussian_kl_hand_values():
    mu = _t([[1.0, 0.0, 2.0]])
    logvar = _t([[0.0, math.log(2.0), -1.0]])
    kl = gaussian_kl(mu, logvar).numpy()[0]
    expected = [0.5,                                    # 1/2 (1 + 1 - 1 - 0)
                0.5 * (2.0 - 1.0 - math.log(2.0)),      # 1/2 (0 + 2 - 1 - ln 2)
                0.5 * (4.0 + math.exp(-1.0) - 1.0 + 1.0)]
    np.testing.assert_allclose(kl, expected, rtol=1e-12)
    assert (gaussian_kl(_t([[0.0]]), _t([[0.0]])).numpy() == 0).all()


def test_gaussian_kl_equals_monte_carlo_log_ratio():
    """E_q[log q(z) - log p(z)] over 200k samples matches the closed form (summed over dims)."""
    paddle.seed(3)
    mu = _t([[0.7, -1.2, 0.0]])
    logvar = _t([[-0.5, 0.8, 0.3]])
    z = reparameterize(mu, logvar, num_samples=200000)  # [1, S, 3]
    ratio = log_normal(z, mu.unsqueeze(1), logvar.unsqueeze(1)) - log_standard_normal(z)
    mc = ratio.numpy()
    closed = gaussian_kl(mu, logvar).numpy().sum()
    assert abs(mc.mean() - closed) < 5 * mc.std() / math.sqrt(mc.size)
    assert abs(mc.mean() - closed) < 0.02


def test_log_normal_matches_product_of_univariate_densities():
    z = np.array([[[0.1, -2.0], [1.5, 0.3]]])  # [1, 2, 2]
    mu = np.array([[[0.0, -1.0]]])  # [1, 1, 2] broadcast over samples
    logvar = np.array([[[math.log(0.5), math.log(3.0)]]])
    got = log_normal(_t(z), _t(mu), _t(logvar)).numpy()
    assert got.shape == (1, 2)
    for k in range(2):
        dens = 1.0
        for d in range(2):
            var = math.exp(logvar[0, 0, d])
            dens *= math.exp(-(z[0, k, d] - mu[0, 0, d]) ** 2 / (2 * var)) / math.sqrt(
                2 * math.pi * var)
        assert got[0, k] == pytest.approx(math.log(dens), rel=1e-12)
    std = log_standard_normal(_t(z)).numpy()
    zero = np.zeros((1, 1, 2))
    np.testing.assert_allclose(std, log_normal(_t(z), _t(zero), _t(zero)).numpy(), rtol=1e-12)


def test_log_normal_refuses_silent_broadcasting():
    z = paddle.zeros([4, 4, 2])
    with pytest.raises(ValueError, match=r"log_normal: expected mu of rank 3 broadcastable to z "
                                         r"\[4, 4, 2\] \(each axis equal or 1, last axis equal\), "
                                         r"got \[4, 2\]"):
        log_normal(z, paddle.zeros([4, 2]), paddle.zeros([4, 1, 2]))
    with pytest.raises(ValueError, match=r"expected logvar of rank 3 .* got \[4, 1, 3\]"):
        log_normal(z, paddle.zeros([4, 1, 2]), paddle.zeros([4, 1, 3]))
    with pytest.raises(ValueError, match=r"log_normal: expected z of rank >= 1 "
                                         r"\(\[\.\.\., latent_size\]\), got \[\]"):
        log_normal(paddle.zeros([]), paddle.zeros([]), paddle.zeros([]))
    with pytest.raises(ValueError, match=r"log_standard_normal: expected z of rank >= 1"):
        log_standard_normal(paddle.zeros([]))


# ---------------------------------------------------------------------------------- free bits


def test_free_bits_floor_value_and_zero_gradient_below_it():
    kl = _t([[0.1, 2.0, 0.9], [0.3, 1.0, 0.0]])
    kl.stop_gradient = False
    loss = free_bits_kl(kl, 0.5)  # batch means [0.2, 1.5, 0.45] -> [0.5, 1.5, 0.5]
    assert loss.shape == []
    assert float(loss) == pytest.approx(2.5, abs=1e-12)
    loss.backward()
    np.testing.assert_array_equal(kl.grad.numpy(), [[0.0, 0.5, 0.0], [0.0, 0.5, 0.0]])


def test_free_bits_zero_is_plain_batch_mean_kl():
    kl = _t([[0.1, 2.0, 0.9], [0.3, 1.0, 0.0]])
    kl.stop_gradient = False
    loss = free_bits_kl(kl, 0)
    assert float(loss) == pytest.approx((0.1 + 2.0 + 0.9 + 0.3 + 1.0) / 2, abs=1e-12)
    loss.backward()
    np.testing.assert_array_equal(kl.grad.numpy(), np.full((2, 3), 0.5))


def test_free_bits_errors():
    with pytest.raises(ValueError, match="free_bits_kl: expected free_bits to be a finite "
                                         "number >= 0, got -0.1"):
        free_bits_kl(paddle.zeros([2, 3]), -0.1)
    with pytest.raises(ValueError, match=r"expected kl_per_dim of shape \[batch_size, "
                                         r"latent_size\], got \[3\]"):
        free_bits_kl(paddle.zeros([3]), 0.1)


# ------------------------------------------------------------------------------ LatentInjector


def test_latent_injector_adds_projection_to_every_position_and_gives_memory():
    paddle.seed(4)
    inj = LatentInjector(latent_size=3, hidden_size=4)
    rng = np.random.default_rng(4)
    z = rng.standard_normal((2, 3)).astype("float32")
    emb = rng.standard_normal((2, 5, 4)).astype("float32")
    out = inj(_t(z, "float32"), _t(emb, "float32"))
    e = z @ inj.emb_proj.weight.numpy()
    m = z @ inj.mem_proj.weight.numpy() + inj.mem_proj.bias.numpy()
    assert inj.emb_proj.bias is None
    np.testing.assert_allclose(out["embedding"].numpy(), e, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["memory"].numpy(), m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["inputs"].numpy(), emb + e[:, None, :], rtol=1e-5, atol=1e-6)


def test_latent_injector_switches_and_errors():
    only_mem = LatentInjector(3, 4, embedding=False)
    emb = paddle.ones([2, 5, 4])
    out = only_mem(paddle.zeros([2, 3]), emb)
    assert out["embedding"] is None and out["inputs"] is emb and out["memory"].shape == [2, 4]
    assert "inputs" not in LatentInjector(3, 4, memory=False)(paddle.zeros([2, 3]))
    with pytest.raises(ValueError, match="LatentInjector: expected embedding or memory"):
        LatentInjector(3, 4, embedding=False, memory=False)
    inj = LatentInjector(3, 4)
    with pytest.raises(ValueError, match=r"expected z of shape \[batch_size, 3\], got \[2, 4\]"):
        inj(paddle.zeros([2, 4]))
    with pytest.raises(ValueError, match=r"expected embeddings of shape \[batch_size, seq_len, "
                                         r"4\], got \[2, 5, 3\]"):
        inj(paddle.zeros([2, 3]), paddle.zeros([2, 5, 3]))
    with pytest.raises(ValueError, match="expected embeddings and z with the same batch_size, "
                                         "got 3 and 2"):
        inj(paddle.zeros([2, 3]), paddle.zeros([3, 5, 4]))


# -------------------------------------------------------------------------------- word dropout


def _ids_and_protected(rows=200, cols=50):
    rng = np.random.default_rng(5)
    ids = rng.integers(5, 100, size=(rows, cols))
    protected = np.zeros((rows, cols), dtype=bool)
    protected[:, 0] = True  # BOS
    lengths = rng.integers(1, cols + 1, size=rows)
    for r, n in enumerate(lengths):
        protected[r, n:] = True  # padding
        ids[r, n:] = 0
    ids[:, 0] = 1
    return ids, protected


def test_word_dropout_never_touches_protected_positions_and_drops_at_rate():
    paddle.seed(6)
    ids, protected = _ids_and_protected()
    out = word_dropout(_t(ids, "int64"), 0.3, unk_id=3, protected_mask=_t(protected, "bool"))
    out = out.numpy()
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out[protected], ids[protected])
    changed = out != ids
    assert (out[changed] == 3).all()
    n = (~protected).sum()
    rate = changed[~protected].mean()
    assert abs(rate - 0.3) < 5 * math.sqrt(0.3 * 0.7 / n)
    full = word_dropout(_t(ids, "int64"), 1.0, 3, _t(protected.astype("int64"), "int64"))
    np.testing.assert_array_equal(full.numpy(), np.where(protected, ids, 3))


def test_word_dropout_is_a_noop_in_eval_mode_and_at_rate_zero():
    ids, protected = _ids_and_protected(4, 6)
    x, p = _t(ids, "int64"), _t(protected, "bool")
    np.testing.assert_array_equal(word_dropout(x, 0.0, 3, p).numpy(), ids)
    np.testing.assert_array_equal(word_dropout(x, 1.0, 3, p, training=False).numpy(), ids)
    layer = WordDropout(1.0, unk_id=3)
    layer.eval()
    np.testing.assert_array_equal(layer(x, p).numpy(), ids)
    layer.train()
    np.testing.assert_array_equal(layer(x, p).numpy(), np.where(protected, ids, 3))


def test_word_dropout_errors():
    ids = paddle.zeros([2, 3], dtype="int64")
    with pytest.raises(ValueError, match=r"word_dropout: expected rate in \[0, 1\], got 1.5"):
        word_dropout(ids, 1.5, 3, ids == 0)
    with pytest.raises(ValueError, match="expected input_ids of an integer dtype, "
                                         "got paddle.float32"):
        word_dropout(paddle.zeros([2, 3]), 0.1, 3, ids == 0)
    with pytest.raises(ValueError, match=r"expected protected_mask of the shape of input_ids "
                                         r"\[2, 3\], got \[2, 4\]"):
        word_dropout(ids, 0.1, 3, paddle.zeros([2, 4], dtype="bool"))
    with pytest.raises(ValueError, match=r"WordDropout: expected rate in \[0, 1\], got -0.1"):
        WordDropout(-0.1, 3)
