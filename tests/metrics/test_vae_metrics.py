"""Tests for ernie_res.metrics.vae: IW bound on a model with a known log p(x), MI and AU on
posteriors with known answers, brute-force MI, and VAEMetric hand values."""
import math

import numpy as np
import paddle
import pytest

from ernie_res.metrics.vae import VAEMetric, active_units, iw_log_likelihood, mutual_information

# ------------------------------------------------------------------ toy model for the IW bound
# p(z) = N(0, I), p(x|z) = N(x; z, S2 I)  =>  p(x) = N(x; 0, (1 + S2) I),
# p(z|x) = N(x / (1 + S2), S2 / (1 + S2) I).
S2 = 0.5
X = np.array([1.0, -0.5])


def _log_gauss(x, mean, var):
    return float(np.sum(-0.5 * np.log(2 * np.pi * var) - (x - mean) ** 2 / (2 * var)))


LOG_PX = _log_gauss(X, 0.0, 1.0 + S2)
POST_MEAN = X / (1 + S2)
POST_VAR = np.full(2, S2 / (1 + S2))


def _iw(mu, logvar, k, rows, seed):
    """IW estimates for ``rows`` independent replicates of x with K samples each."""
    rng = np.random.default_rng(seed)
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal((rows, k, 2))  # [rows, K, 2]
    log_px_z = (-0.5 * np.log(2 * np.pi * S2) - (X - z) ** 2 / (2 * S2)).sum(-1)  # [rows, K]
    mus = np.tile(mu, (rows, 1))
    lvs = np.tile(logvar, (rows, 1))
    return iw_log_likelihood(log_px_z, z, mus, lvs)


def test_iw_with_the_exact_posterior_is_exactly_log_px():
    for k in (1, 7):
        est = _iw(POST_MEAN, np.log(POST_VAR), k, rows=50, seed=k)
        np.testing.assert_allclose(est, LOG_PX, rtol=1e-12)


def test_iw_k1_is_the_elbo_in_expectation_and_rises_towards_log_px_with_k():
    mu = POST_MEAN + np.array([0.4, -0.3])  # a deliberately wrong, wider posterior
    logvar = np.log(POST_VAR) + 0.5
    var = np.exp(logvar)
    expected_rec = np.sum(-0.5 * np.log(2 * np.pi * S2) - ((X - mu) ** 2 + var) / (2 * S2))
    kl = 0.5 * np.sum(mu ** 2 + var - 1 - logvar)
    elbo = expected_rec - kl
    assert elbo < LOG_PX - 0.1  # the bound is visibly loose for K = 1
    means = {}
    for k in (1, 10, 100):
        est = _iw(mu, logvar, k, rows=4000, seed=10 + k)
        means[k] = (est.mean(), est.std() / math.sqrt(len(est)))
    m1, se1 = means[1]
    assert abs(m1 - elbo) < 5 * se1
    assert means[1][0] < means[10][0] < means[100][0] <= LOG_PX + 5 * means[100][1]
    assert LOG_PX - means[100][0] < 0.1 * (LOG_PX - elbo)


def test_iw_accepts_paddle_tensors_and_checks_shapes():
    z = np.zeros((2, 3, 4))
    lp = np.zeros((2, 3))
    mu = np.zeros((2, 4))
    got = iw_log_likelihood(paddle.to_tensor(lp), paddle.to_tensor(z), paddle.to_tensor(mu),
                            paddle.to_tensor(mu))
    # every weight is p(0) / q(0) = 1 with q = p, so the estimate is 0
    np.testing.assert_allclose(got, [0.0, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match=r"iw_log_likelihood: expected z of shape \[B, K, Z\] = "
                                         r"\[2, K, 4\], got \[2, 3, 5\]"):
        iw_log_likelihood(lp, np.zeros((2, 3, 5)), mu, mu)
    with pytest.raises(ValueError, match=r"expected log_px_given_z of shape \[B, K\] = \[2, 3\], "
                                         r"got \[2, 4\]"):
        iw_log_likelihood(np.zeros((2, 4)), z, mu, mu)
    with pytest.raises(ValueError, match=r"expected mu and logvar of the same shape "
                                         r"\[N, latent_size\], got \[2, 4\] and \[2, 3\]"):
        iw_log_likelihood(lp, z, mu, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected finite values in log_px_given_z, "
                                         "got nan or inf"):
        iw_log_likelihood(np.full((2, 3), np.nan), z, mu, mu)


# ------------------------------------------------------------------------- mutual information


def _plus_minus_one(n, z):
    """Noise with eps^2 = 1 in every entry: the MC term of E_q log q(z|x) is then exact."""
    return np.where(np.arange(n * z).reshape(n, z) % 2 == 0, 1.0, -1.0)


def test_mi_is_exactly_zero_when_the_posterior_ignores_x():
    n, z = 50, 3
    mu = np.tile([0.5, -1.0, 2.0], (n, 1))
    logvar = np.tile([0.0, -1.0, 0.7], (n, 1))
    samples = mu + np.exp(0.5 * logvar) * _plus_minus_one(n, z)
    assert mutual_information(mu, logvar, samples) == pytest.approx(0.0, abs=1e-12)
    assert active_units(mu) == (0, pytest.approx(np.zeros(3)))


def test_mi_is_log_n_for_well_separated_posteriors():
    n, z = 40, 2
    mu = 100.0 * np.arange(n * z, dtype=float).reshape(n, z)
    logvar = np.full((n, z), math.log(1e-4))
    samples = mu + np.exp(0.5 * logvar) * _plus_minus_one(n, z)
    assert mutual_information(mu, logvar, samples) == pytest.approx(math.log(n), abs=1e-9)


def test_mi_two_items_closed_form():
    d = 3.0
    mu = np.array([[0.0], [d]])
    logvar = np.zeros((2, 1))
    samples = np.array([[1.0], [d - 1.0]])  # eps = +1, -1

    def phi(t):
        return math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)

    neg_entropy = -0.5 * math.log(2 * math.pi) - 0.5
    log_qz0 = math.log(0.5 * (phi(1.0) + phi(1.0 - d)))
    log_qz1 = math.log(0.5 * (phi(d - 1.0 - 0.0) + phi(-1.0)))
    expected = neg_entropy - 0.5 * (log_qz0 + log_qz1)
    assert expected == pytest.approx(math.log(2) - math.log(1 + math.exp(0.5 - (d - 1) ** 2 / 2)))
    assert mutual_information(mu, logvar, samples) == pytest.approx(expected, abs=1e-12)


def test_mi_chunked_matches_brute_force_loops():
    rng = np.random.default_rng(7)
    n, z = 7, 3
    mu = rng.standard_normal((n, z))
    logvar = 0.5 * rng.standard_normal((n, z))
    samples = mu + np.exp(0.5 * logvar) * rng.standard_normal((n, z))

    def log_q(i, j):  # log q(z_i | x_j), one dimension at a time
        total = 0.0
        for d in range(z):
            var = math.exp(logvar[j, d])
            diff = samples[i, d] - mu[j, d]
            total += -0.5 * math.log(2 * math.pi * var) - diff ** 2 / (2 * var)
        return total

    neg_ent = np.mean([-0.5 * z * math.log(2 * math.pi) - 0.5 * sum(1 + logvar[i])
                       for i in range(n)])
    log_qz = [math.log(sum(math.exp(log_q(i, j)) for j in range(n)) / n) for i in range(n)]
    expected = neg_ent - np.mean(log_qz)
    for chunk in (None, 1, 2, 3, 100):
        got = mutual_information(paddle.to_tensor(mu), logvar, samples, chunk_size=chunk)
        assert got == pytest.approx(expected, abs=1e-12)


def test_mi_with_drawn_samples_is_seeded_and_near_the_known_answers():
    rng = np.random.default_rng(8)
    n = 2000
    same_mu = np.tile(rng.standard_normal(4), (n, 1))
    same_lv = np.tile(rng.standard_normal(4) * 0.3, (n, 1))
    mi0 = mutual_information(same_mu, same_lv, seed=3)
    assert mi0 == mutual_information(same_mu, same_lv, seed=3)
    assert abs(mi0) < 5 * math.sqrt(4 / 2) / math.sqrt(n)  # sd of mean 1/2 sum(eps^2 - 1)
    far_mu = 100.0 * np.arange(2 * n, dtype=float).reshape(n, 2)
    far_lv = np.full((n, 2), math.log(1e-4))
    mi = mutual_information(far_mu, far_lv, seed=4)
    assert abs(mi - math.log(n)) < 5 * math.sqrt(2 / 2) / math.sqrt(n)


def test_mi_errors():
    with pytest.raises(ValueError, match=r"mutual_information: expected z_samples of the shape "
                                         r"of mu \[3, 2\], got \[3, 1\]"):
        mutual_information(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="expected chunk_size to be an int >= 1, got 0"):
        mutual_information(np.zeros((3, 2)), np.zeros((3, 2)), chunk_size=0)
    with pytest.raises(ValueError, match="expected at least 1 item, got 0"):
        mutual_information(np.zeros((0, 2)), np.zeros((0, 2)))


# ------------------------------------------------------------------------------ active units


def test_active_units_hand_values():
    mu = np.array([[0.0, 5.0, 0.0],
                   [1.0, 5.0, 0.1],
                   [2.0, 5.0, 0.0],
                   [3.0, 5.0, 0.1]])
    count, var = active_units(mu)
    np.testing.assert_allclose(var, [5.0 / 3.0, 0.0, 0.01 / 3.0], rtol=1e-12)  # ddof = 1
    assert count == 1
    assert active_units(mu, threshold=0.003)[0] == 2
    assert active_units(mu, threshold=5.0 / 3.0)[0] == 0  # strictly above the threshold
    with pytest.raises(ValueError, match=r"active_units: expected mu of shape \[N, latent_size\] "
                                         r"with N >= 2, got \[1, 3\]"):
        active_units(mu[:1])


# --------------------------------------------------------------------------------- VAEMetric

MU1 = np.array([[0.0, 0.0], [1.0, 0.0]])
MU2 = np.array([[2.0, 0.05]])


def _filled(iw=False):
    m = VAEMetric()
    m.update([10.0, 20.0], [1.0, 2.0], [5, 10], MU1, np.zeros((2, 2)),
             iw_nll=[11.0, 21.0] if iw else None)
    m.update(paddle.to_tensor([30.0]), paddle.to_tensor([3.0]), paddle.to_tensor([15]),
             paddle.to_tensor(MU2), paddle.to_tensor(np.zeros((1, 2))),
             iw_nll=paddle.to_tensor([31.0]) if iw else None)
    return m


def test_vae_metric_hand_values_without_iw():
    m = _filled()
    got = m.accumulate()
    mu = np.concatenate([MU1, MU2])
    assert got == {"elbo": pytest.approx(-22.0), "rec": pytest.approx(20.0),
                   "kl": pytest.approx(2.0), "nll": pytest.approx(22.0),
                   "ppl": pytest.approx(math.exp(66.0 / 30.0)),
                   "mi": pytest.approx(mutual_information(mu, np.zeros((3, 2)), seed=0)),
                   "au": 1.0, "neg_nll": pytest.approx(-22.0)}
    assert VAEMetric.main_key == "neg_nll"
    text = m.report()
    assert "sentences 3, predicted tokens 30" in text
    assert "nll 22.000 (-ELBO (upper bound)), ppl 9.03" in text
    assert "elbo -22.000 = -(rec 20.000 + kl 2.000)" in text


def test_vae_metric_uses_iw_nll_when_given_and_resets():
    m = _filled(iw=True)
    got = m.accumulate()
    assert got["nll"] == pytest.approx(21.0)
    assert got["neg_nll"] == pytest.approx(-21.0)
    assert got["ppl"] == pytest.approx(math.exp(63.0 / 30.0))
    assert got["elbo"] == pytest.approx(-22.0)
    assert "importance-weighted" in m.report()
    m.reset()
    assert m.accumulate() == {k: 0.0 for k in
                              ("elbo", "rec", "kl", "nll", "ppl", "mi", "au", "neg_nll")}


def test_vae_metric_errors():
    m = VAEMetric()
    z = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"VAEMetric: expected rec_nll, kl, num_tokens of shape "
                                         r"\[B\] = \[2\] \(the rows of mu\), got \[3\], \[2\], "
                                         r"\[2\]"):
        m.update([1.0, 2.0, 3.0], [1.0, 1.0], [1, 1], z, z)
    with pytest.raises(ValueError, match="expected positive integer num_tokens, got 0.0"):
        m.update([1.0, 2.0], [1.0, 1.0], [1, 0], z, z)
    m.update([1.0, 2.0], [1.0, 1.0], [1, 1], z, z)
    with pytest.raises(ValueError, match="expected iw_nll in every update or in none, got iw_nll "
                                         "in this update but not in the earlier ones"):
        m.update([1.0, 2.0], [1.0, 1.0], [1, 1], z, z, iw_nll=[1.0, 2.0])
    with pytest.raises(ValueError, match="expected mu with latent_size 2 like the earlier "
                                         "updates, got 3"):
        m.update([1.0, 2.0], [1.0, 1.0], [1, 1], np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected finite values in rec_nll, got nan or inf"):
        m.update([np.inf, 2.0], [1.0, 1.0], [1, 1], z, z)
    m2 = VAEMetric()
    m2.update([1.0], [1.0], [1], np.zeros((1, 2)), np.zeros((1, 2)), iw_nll=[2.0])
    with pytest.raises(ValueError, match="got no iw_nll in this update but iw_nll in the "
                                         "earlier ones"):
        m2.update([1.0], [1.0], [1], np.zeros((1, 2)), np.zeros((1, 2)))
    assert m2.accumulate()["au"] == 0.0  # one sentence: no variance to measure


def test_vae_metric_accessors():
    m = VAEMetric()
    assert m.num_sentences == 0
    assert m.mu.shape == (0, 0) and m.logvar.shape == (0, 0)
    mu1, lv1 = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.1, 0.2], [0.3, 0.4]])
    mu2, lv2 = np.array([[5.0, 6.0]]), np.array([[0.5, 0.6]])
    m.update([1.0, 2.0], [0.1, 0.2], [3, 4], mu1, lv1)
    m.update(paddle.to_tensor([3.0]), paddle.to_tensor([0.3]), paddle.to_tensor([5]),
             paddle.to_tensor(mu2.astype("float32")), paddle.to_tensor(lv2.astype("float32")))
    assert m.num_sentences == 3
    assert m.mu.dtype == np.float64 and m.logvar.dtype == np.float64
    np.testing.assert_allclose(m.mu, np.concatenate([mu1, mu2]))
    np.testing.assert_allclose(m.logvar, np.concatenate([lv1, lv2]), rtol=1e-6)
    m.reset()
    assert m.num_sentences == 0 and m.mu.shape == (0, 0)
