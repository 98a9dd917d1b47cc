"""Text-VAE evaluation: importance-weighted NLL, mutual information, active units, and the
``VAEMetric`` that reports them with the ELBO, its two terms and perplexity.

Definitions follow the evaluation code of J. He, D. Spokoyny, G. Neubig, T. Berg-Kirkpatrick,
"Lagging Inference Networks and Posterior Collapse in Variational Autoencoders", ICLR 2019
(``calc_iwnll``, ``calc_mi``, ``calc_au``), which later text-VAE papers (e.g. Optimus, Li et al.
2020) reuse:

- IW bound (Y. Burda, R. Grosse, R. Salakhutdinov, "Importance Weighted Autoencoders",
  ICLR 2016): ``log p(x) ~ logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K`` with
  ``z_k ~ q(z|x)``; its expectation is the ELBO for K = 1 and rises towards ``log p(x)`` with K.
- Mutual information ``I_q(x; z) = E_x E_q(z|x)[log q(z|x)] - E_x E_q(z|x)[log q(z)]`` with the
  aggregate posterior ``q(z) ~ 1/N sum_n q(z|x_n)``, one sample ``z ~ q(z|x)`` per item and the
  first term (negative entropy of a Gaussian) in closed form. He et al. estimate it per
  mini-batch and average the batches; here the aggregate posterior runs over the whole
  evaluation set, so the estimate is bounded by ``log N`` rather than ``log batch_size``.
- Active units (Burda et al. 2016): dimension u is active when ``Var_x(E_q(z|x)[z_u]) =
  Var_x(mu_u)`` exceeds a threshold (0.01); the variance is the unbiased one (``N - 1``), as in
  He et al.'s ``calc_au``.

All arithmetic is NumPy float64. Inputs may be NumPy arrays or Paddle tensors.
"""
import math

import numpy as np

from ernie_res.metrics.base import Metric

__all__ = ["iw_log_likelihood", "mutual_information", "active_units", "VAEMetric"]

_LOG_2PI = math.log(2.0 * math.pi)
# Elements of one [chunk, N, Z] block in mutual_information (32 MB of float64).
_BLOCK_ELEMENTS = 4_000_000


def _np(x, name, owner):
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    arr = np.asarray(x, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{owner}: expected finite values in {name}, got nan or inf")
    return arr


def _logsumexp(a, axis):
    top = a.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def _log_normal(z, mu, logvar):
    """Diagonal Gaussian log density summed over the last axis (broadcasting)."""
    return -0.5 * (_LOG_2PI + logvar + (z - mu) ** 2 * np.exp(-logvar)).sum(-1)


def _check_posterior(owner, mu, logvar):
    if mu.ndim != 2 or logvar.shape != mu.shape:
        raise ValueError(f"{owner}: expected mu and logvar of the same shape [N, latent_size], "
                         f"got {list(mu.shape)} and {list(logvar.shape)}")


def iw_log_likelihood(log_px_given_z, z, mu, logvar):
    """Importance-weighted estimate of ``log p(x)`` from K samples of ``q(z|x)`` per item.

    Args:
        log_px_given_z (array | Tensor): float, ``[B, K]``, ``log p(x_b | z_bk)`` (the negative
            reconstruction loss of item b decoded from sample k, summed over tokens).
        z (array | Tensor): float, ``[B, K, Z]``, the samples ``z_bk ~ q(z | x_b)``.
        mu (array | Tensor): float, ``[B, Z]``, posterior means.
        logvar (array | Tensor): float, ``[B, Z]``, posterior log-variances.

    Returns:
        np.ndarray: float64 ``[B]``, the estimate of ``log p(x_b)`` (negate for IW-NLL).
    """
    owner = "iw_log_likelihood"
    lp = _np(log_px_given_z, "log_px_given_z", owner)
    z = _np(z, "z", owner)
    mu = _np(mu, "mu", owner)
    logvar = _np(logvar, "logvar", owner)
    _check_posterior(owner, mu, logvar)
    if z.ndim != 3 or z.shape[0] != mu.shape[0] or z.shape[2] != mu.shape[1]:
        raise ValueError(f"{owner}: expected z of shape [B, K, Z] = [{mu.shape[0]}, K, "
                         f"{mu.shape[1]}], got {list(z.shape)}")
    if lp.shape != z.shape[:2]:
        raise ValueError(f"{owner}: expected log_px_given_z of shape [B, K] = "
                         f"{list(z.shape[:2])}, got {list(lp.shape)}")
    log_pz = _log_normal(z, 0.0, 0.0)  # shape: [B, K]
    log_qz = _log_normal(z, mu[:, None, :], logvar[:, None, :])  # shape: [B, K]
    log_w = lp + log_pz - log_qz  # shape: [B, K]
    return _logsumexp(log_w, axis=1) - math.log(z.shape[1])  # shape: [B]


def mutual_information(mu, logvar, z_samples=None, seed=0, chunk_size=None):
    """Estimate ``I_q(x; z)`` over an evaluation set (He et al. 2019, ``calc_mi``).

    ``MI = mean_i [-Z/2 log 2 pi - 1/2 sum_d (1 + logvar_id)]
    - mean_i log (1/N sum_n q(z_i | x_n))`` with one ``z_i ~ q(z | x_i)`` per item. The
    ``N x N`` table of ``log q(z_i | x_n)`` is computed in row chunks.

    Args:
        mu (array | Tensor): float, ``[N, Z]``, posterior means of the N items.
        logvar (array | Tensor): float, ``[N, Z]``, posterior log-variances.
        z_samples (array | Tensor, optional): float, ``[N, Z]``, one sample per item; drawn
            here with ``np.random.default_rng(seed)`` when None.
        seed (int): seed for drawing ``z_samples``.
        chunk_size (int, optional): rows of the N x N table per block (default: as many as fit
            in about 4M float64 values).

    Returns:
        float: the estimate in nats (at most about ``log N``; near 0 when q(z|x) ignores x).
    """
    owner = "mutual_information"
    mu = _np(mu, "mu", owner)
    logvar = _np(logvar, "logvar", owner)
    _check_posterior(owner, mu, logvar)
    n, latent = mu.shape
    if n == 0:
        raise ValueError(f"{owner}: expected at least 1 item, got 0")
    if z_samples is None:
        eps = np.random.default_rng(seed).standard_normal(mu.shape)
        z = mu + np.exp(0.5 * logvar) * eps  # shape: [N, Z]
    else:
        z = _np(z_samples, "z_samples", owner)
        if z.shape != mu.shape:
            raise ValueError(f"{owner}: expected z_samples of the shape of mu {list(mu.shape)}, "
                             f"got {list(z.shape)}")
    if chunk_size is None:
        chunk_size = max(1, _BLOCK_ELEMENTS // max(1, n * latent))
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"{owner}: expected chunk_size to be an int >= 1, got {chunk_size!r}")
    neg_entropy = -0.5 * latent * _LOG_2PI - 0.5 * (1.0 + logvar).sum(-1)  # shape: [N]
    log_qz = np.empty(n)  # log q(z_i) under the aggregate posterior
    for start in range(0, n, chunk_size):
        zi = z[start:start + chunk_size, None, :]  # shape: [C, 1, Z]
        table = _log_normal(zi, mu[None], logvar[None])  # shape: [C, N]: log q(z_i | x_n)
        log_qz[start:start + chunk_size] = _logsumexp(table, axis=1) - math.log(n)
    return float(neg_entropy.mean() - log_qz.mean())


def active_units(mu, threshold=0.01):
    """Count the latent dimensions whose posterior mean varies across the data.

    Args:
        mu (array | Tensor): float, ``[N, Z]`` with N >= 2, posterior means.
        threshold (float): a dimension is active when its variance is strictly above this.

    Returns:
        tuple: ``(count, variance)``: int, and float64 ``[Z]`` with the unbiased variance
        (``ddof=1``) of each dimension of ``mu`` over the N items.
    """
    owner = "active_units"
    mu = _np(mu, "mu", owner)
    if mu.ndim != 2 or mu.shape[0] < 2:
        raise ValueError(f"{owner}: expected mu of shape [N, latent_size] with N >= 2, "
                         f"got {list(mu.shape)}")
    variance = mu.var(axis=0, ddof=1)  # shape: [Z]
    return int((variance > threshold).sum()), variance


class VAEMetric(Metric):
    """Corpus-level text-VAE evaluation.

    ``update`` takes per-sentence values; ``accumulate`` returns (all per sentence, in nats,
    except ``ppl``, ``mi``, ``au``):

    - ``rec``: mean reconstruction NLL ``-log p(x|z)`` (z from q, as the model computed it);
    - ``kl``: mean ``KL(q(z|x) || p(z))``;
    - ``elbo``: ``-(rec + kl)``, the mean evidence lower bound (a negative number);
    - ``nll``: mean IW-NLL when ``iw_nll`` was given to every ``update``, else ``rec + kl``
      (the negative ELBO, an upper bound on the NLL);
    - ``ppl``: ``exp(sum of nll / total predicted tokens)``; predicted tokens count the end
      token and not the start token (the exponent is capped at 709 so it stays a finite float);
    - ``mi``: ``mutual_information`` over all posteriors seen (fixed ``seed``, so repeatable);
    - ``au``: ``active_units`` count (0 with fewer than 2 sentences);
    - ``neg_nll``: ``-nll``, the main key (higher is better, as the trainer maximises it).

    Args:
        au_threshold (float): variance threshold for active units.
        seed (int): seed of the one posterior sample per sentence used by ``mi``.
    """

    main_key = "neg_nll"

    def __init__(self, au_threshold=0.01, seed=0):
        self.au_threshold = au_threshold
        self.seed = seed
        self.reset()

    def reset(self):
        self._rec, self._kl, self._iw, self._tokens = [], [], [], []
        self._mu, self._logvar = [], []

    def update(self, rec_nll, kl, num_tokens, mu, logvar, iw_nll=None):
        """Add one batch.

        Args:
            rec_nll (array | Tensor): float ``[B]``, per-sentence reconstruction NLL (summed
                over tokens).
            kl (array | Tensor): float ``[B]``, per-sentence KL (summed over latent dims).
            num_tokens (array | Tensor): int ``[B]``, predicted tokens per sentence (> 0).
            mu (array | Tensor): float ``[B, Z]``, posterior means.
            logvar (array | Tensor): float ``[B, Z]``, posterior log-variances.
            iw_nll (array | Tensor, optional): float ``[B]``, per-sentence IW-NLL
                (``-iw_log_likelihood``); give it in every update or in none.
        """
        owner = "VAEMetric"
        rec = _np(rec_nll, "rec_nll", owner).reshape(-1)
        kl = _np(kl, "kl", owner).reshape(-1)
        tokens = _np(num_tokens, "num_tokens", owner).reshape(-1)
        mu = _np(mu, "mu", owner)
        logvar = _np(logvar, "logvar", owner)
        _check_posterior(owner, mu, logvar)
        b = mu.shape[0]
        if not (len(rec) == len(kl) == len(tokens) == b):
            raise ValueError(f"{owner}: expected rec_nll, kl, num_tokens of shape [B] = [{b}] "
                             f"(the rows of mu), got [{len(rec)}], [{len(kl)}], "
                             f"[{len(tokens)}]")
        if (tokens <= 0).any() or (tokens != np.round(tokens)).any():
            raise ValueError(f"{owner}: expected positive integer num_tokens, got "
                             f"{tokens[(tokens <= 0) | (tokens != np.round(tokens))][0]!r}")
        if self._mu and mu.shape[1] != self._mu[0].shape[1]:
            raise ValueError(f"{owner}: expected mu with latent_size {self._mu[0].shape[1]} "
                             f"like the earlier updates, got {mu.shape[1]}")
        if self._mu and (iw_nll is None) != (not self._iw):
            got = ("iw_nll in this update but not in the earlier ones" if iw_nll is not None
                   else "no iw_nll in this update but iw_nll in the earlier ones")
            raise ValueError(f"{owner}: expected iw_nll in every update or in none, got {got}")
        if iw_nll is not None:
            iw = _np(iw_nll, "iw_nll", owner).reshape(-1)
            if len(iw) != b:
                raise ValueError(f"{owner}: expected iw_nll of shape [B] = [{b}], "
                                 f"got [{len(iw)}]")
            self._iw.append(iw)
        self._rec.append(rec)
        self._kl.append(kl)
        self._tokens.append(tokens)
        self._mu.append(mu)
        self._logvar.append(logvar)

    def _cat(self, parts):
        return np.concatenate(parts)

    @property
    def num_sentences(self):
        return sum(len(x) for x in self._rec)

    @property
    def mu(self):
        """float64 ``[N, Z]``: the posterior means of every sentence seen, in order."""
        return self._cat(self._mu) if self._mu else np.zeros((0, 0))

    @property
    def logvar(self):
        """float64 ``[N, Z]``: the posterior log-variances, aligned with ``mu``."""
        return self._cat(self._logvar) if self._logvar else np.zeros((0, 0))

    def accumulate(self):
        keys = ("elbo", "rec", "kl", "nll", "ppl", "mi", "au", "neg_nll")
        if not self._mu:
            return {k: 0.0 for k in keys}
        rec, kl, tokens = self._cat(self._rec), self._cat(self._kl), self._cat(self._tokens)
        mu, logvar = self._cat(self._mu), self._cat(self._logvar)
        nll = self._cat(self._iw) if self._iw else rec + kl  # shape: [N]
        au = active_units(mu, self.au_threshold)[0] if len(mu) >= 2 else 0
        # a model without a latent (the LM baseline passes [N, 0]) has I(x; z) = 0 exactly
        mi = mutual_information(mu, logvar, seed=self.seed) if mu.shape[1] > 0 else 0.0
        return {"elbo": float(-(rec + kl).mean()),
                "rec": float(rec.mean()),
                "kl": float(kl.mean()),
                "nll": float(nll.mean()),
                "ppl": float(np.exp(min(nll.sum() / tokens.sum(), 709.0))),
                "mi": mi,
                "au": float(au),
                "neg_nll": float(-nll.mean())}

    def report(self):
        if not self._mu:
            return "no sentences"
        m = self.accumulate()
        n = sum(len(x) for x in self._rec)
        kind = "importance-weighted" if self._iw else "-ELBO (upper bound)"
        lines = [f"sentences {n}, predicted tokens {int(self._cat(self._tokens).sum())}",
                 f"nll {m['nll']:.3f} ({kind}), ppl {m['ppl']:.2f}",
                 f"elbo {m['elbo']:.3f} = -(rec {m['rec']:.3f} + kl {m['kl']:.3f})",
                 f"mi {m['mi']:.3f}, active units {int(m['au'])}"]
        if n >= 2:
            _, var = active_units(self._cat(self._mu), self.au_threshold)
            lines.append(f"Var_x(mu) per dim (active > {self.au_threshold}): "
                         + " ".join(f"{v:.3g}" for v in var))
        return "\n".join(lines)
