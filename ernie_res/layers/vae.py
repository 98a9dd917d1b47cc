"""Text-VAE building blocks: Gaussian posterior, reparameterisation, KL, free bits, latent
injection into the decoder, and word dropout.

The posterior ``q(z|x) = N(mu, diag(exp(logvar)))`` is predicted from a pooled encoder vector;
the prior is ``p(z) = N(0, I)``. Everything here is task-free: the model that pools ERNIE's
token states, runs the decoder and sums the losses lives in ``ernie_res.models``.

Sources:
    - Reparameterisation, closed-form Gaussian KL: D. P. Kingma, M. Welling, "Auto-Encoding
      Variational Bayes", ICLR 2014 (appendix B: ``-KL = 1/2 sum(1 + logvar - mu^2 - var)``).
    - Free bits: D. P. Kingma, T. Salimans, R. Jozefowicz, X. Chen, I. Sutskever, M. Welling,
      "Improved Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016 (eq. 15,
      ``sum_j max(lambda, E_x[KL_j])``), with one group per latent dimension as in Optimus:
      C. Li, X. Gao, Y. Li, B. Peng, X. Li, Y. Zhang, J. Gao, "Optimus: Organizing Sentences
      via Pre-trained Modeling of a Latent Space", EMNLP 2020.
    - Latent injection ("embedding" + "memory") and word dropout: S. R. Bowman, L. Vilnis,
      O. Vinyals, A. M. Dai, R. Jozefowicz, S. Bengio, "Generating Sentences from a Continuous
      Space", CoNLL 2016; Li et al. 2020 (Optimus) for adding a projection of z to every decoder
      input embedding.
"""

import math

import paddle
import paddle.nn as nn

__all__ = [
    "LOGVAR_MIN",
    "LOGVAR_MAX",
    "GaussianPosterior",
    "reparameterize",
    "gaussian_kl",
    "free_bits_kl",
    "log_normal",
    "log_standard_normal",
    "LatentInjector",
    "word_dropout",
    "WordDropout",
]

# exp(-20) ~ 2e-9 is a variance far below anything a float32 decoder can use, and exp(10) ~ 2e4
# is far wider than the N(0, I) prior; clamping keeps exp(logvar) and the KL finite.
LOGVAR_MIN = -20.0
LOGVAR_MAX = 10.0
_LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------------------------
# Input checks
# ----------------------------------------------------------------------------------------------


def _shape(t):
    return [int(d) if d is not None else -1 for d in t.shape]


def _fmt(dims):
    return "[" + ", ".join(str(d) for d in dims) + "]"


@paddle.jit.not_to_static
def _check_float(owner, name, t, expected=None):
    """``t`` must be a floating tensor; ``expected`` lists ints (must match) or names (any)."""
    got = _shape(t)
    if expected is not None and not (len(got) == len(expected) and all(
            isinstance(e, str) or g < 0 or g == e for g, e in zip(got, expected))):
        raise ValueError(f"{owner}: expected {name} of shape {_fmt(expected)}, got {_fmt(got)}")
    if not paddle.is_floating_point(t):
        raise ValueError(f"{owner}: expected {name} of a floating dtype, got {t.dtype}")


@paddle.jit.not_to_static
def _check_same_shape(owner, a_name, a, b_name, b):
    if _shape(a) != _shape(b):
        raise ValueError(f"{owner}: expected {a_name} and {b_name} of the same shape, "
                         f"got {_fmt(_shape(a))} and {_fmt(_shape(b))}")


@paddle.jit.not_to_static
def _check_broadcast_to(owner, name, t, z):
    """``t`` has the rank of ``z``, the same last axis and every other axis equal or 1."""
    got, want = _shape(t), _shape(z)
    if not want:
        raise ValueError(f"{owner}: expected z of rank >= 1 ([..., latent_size]), got []")
    ok = len(got) == len(want) and got[-1] == want[-1] and all(
        g in (1, w) or g < 0 or w < 0 for g, w in zip(got, want))
    if not ok:
        raise ValueError(f"{owner}: expected {name} of rank {len(want)} broadcastable to z "
                         f"{_fmt(want)} (each axis equal or 1, last axis equal), got "
                         f"{_fmt(got)}")


# ----------------------------------------------------------------------------------------------
# Posterior, sampling, densities and KL
# ----------------------------------------------------------------------------------------------


class GaussianPosterior(nn.Layer):
    """Map a pooled encoder vector to the diagonal Gaussian ``q(z|x) = N(mu, exp(logvar))``.

    Two independent linear maps: ``mu = W_mu h + b_mu`` and
    ``logvar = clip(W_v h + b_v, logvar_min, logvar_max)``. The clip is a hard clamp, so its
    gradient is zero for entries outside ``[logvar_min, logvar_max]``.

    Args:
        hidden_size (int): size H of the pooled vector.
        latent_size (int): size Z of the latent code.
        logvar_min (float): lower clamp of ``logvar`` (default ``LOGVAR_MIN = -20``).
        logvar_max (float): upper clamp of ``logvar`` (default ``LOGVAR_MAX = 10``).
    """

    def __init__(self, hidden_size, latent_size, logvar_min=LOGVAR_MIN, logvar_max=LOGVAR_MAX):
        super().__init__()
        if hidden_size <= 0 or latent_size <= 0:
            raise ValueError(f"GaussianPosterior: expected positive hidden_size and latent_size, "
                             f"got {hidden_size} and {latent_size}")
        if not logvar_min < logvar_max:
            raise ValueError(f"GaussianPosterior: expected logvar_min < logvar_max, "
                             f"got {logvar_min} and {logvar_max}")
        self.hidden_size = hidden_size
        self.latent_size = latent_size
        self.logvar_min = float(logvar_min)
        self.logvar_max = float(logvar_max)
        self.mu = nn.Linear(hidden_size, latent_size)
        self.logvar = nn.Linear(hidden_size, latent_size)

    def forward(self, h):
        """Predict the posterior parameters.

        Args:
            h (Tensor): float32/float64, ``[batch_size, hidden_size]``.

        Returns:
            dict: ``mu`` and ``logvar``, both same dtype as ``h``, ``[batch_size, latent_size]``;
            ``logvar`` lies in ``[logvar_min, logvar_max]``.
        """
        _check_float("GaussianPosterior", "h", h, ["batch_size", self.hidden_size])
        mu = self.mu(h)  # shape: [B, Z]
        logvar = paddle.clip(self.logvar(h), self.logvar_min, self.logvar_max)  # shape: [B, Z]
        return {"mu": mu, "logvar": logvar}


def reparameterize(mu, logvar, num_samples=1):
    """Draw ``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)`` (Kingma & Welling 2014).

    Uses Paddle's global generator (``paddle.seed`` makes it repeatable). Gradients flow to
    ``mu`` and ``logvar``.

    Args:
        mu (Tensor): float32/float64, ``[batch_size, latent_size]``.
        logvar (Tensor): same dtype and shape as ``mu``.
        num_samples (int): S, the number of samples per row (>= 1).

    Returns:
        Tensor: same dtype as ``mu``, ``[batch_size, num_samples, latent_size]``.
    """
    _check_float("reparameterize", "mu", mu, ["batch_size", "latent_size"])
    _check_float("reparameterize", "logvar", logvar, ["batch_size", "latent_size"])
    _check_same_shape("reparameterize", "mu", mu, "logvar", logvar)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"reparameterize: expected num_samples to be an int >= 1, "
                         f"got {num_samples!r}")
    std = paddle.exp(0.5 * logvar).unsqueeze(1)  # shape: [B, 1, Z]
    eps = paddle.randn([mu.shape[0], num_samples, mu.shape[1]], dtype=mu.dtype)  # [B, S, Z]
    return mu.unsqueeze(1) + std * eps  # shape: [B, S, Z]


def gaussian_kl(mu, logvar):
    """Closed-form ``KL(N(mu, exp(logvar)) || N(0, 1))`` for every latent dimension.

    ``KL_d = 1/2 (mu_d^2 + exp(logvar_d) - 1 - logvar_d)`` (Kingma & Welling 2014, app. B).

    Args:
        mu (Tensor): float32/float64, ``[batch_size, latent_size]``.
        logvar (Tensor): same dtype and shape as ``mu``.

    Returns:
        Tensor: same dtype, ``[batch_size, latent_size]``, every entry >= 0. Sum over the last
        axis for the KL of the whole code.
    """
    _check_float("gaussian_kl", "mu", mu, ["batch_size", "latent_size"])
    _check_float("gaussian_kl", "logvar", logvar, ["batch_size", "latent_size"])
    _check_same_shape("gaussian_kl", "mu", mu, "logvar", logvar)
    return 0.5 * (mu * mu + paddle.exp(logvar) - 1.0 - logvar)  # shape: [B, Z]


def free_bits_kl(kl_per_dim, free_bits):
    """The free-bits KL term ``sum_d max(lambda, mean_b KL_{b,d})`` (Kingma et al. 2016).

    Exact variant: the KL of each latent dimension is first averaged over the batch, then
    floored at ``lambda = free_bits`` nats, then summed over dimensions. A dimension whose
    batch-mean KL is at or below ``lambda`` contributes exactly ``lambda`` and gets zero
    gradient, so the encoder is not pushed to collapse it further. (Optimus multiplies such
    dimensions by 0 instead of flooring them at ``lambda``: the loss differs by a constant and
    the gradient is the same.) ``free_bits = 0`` gives the plain batch-mean KL
    ``mean_b sum_d KL_{b,d}``.

    Args:
        kl_per_dim (Tensor): float32/float64, ``[batch_size, latent_size]``, e.g. from
            ``gaussian_kl``.
        free_bits (float): lambda >= 0, in nats per dimension.

    Returns:
        Tensor: same dtype, a 0-d scalar.
    """
    _check_float("free_bits_kl", "kl_per_dim", kl_per_dim, ["batch_size", "latent_size"])
    if isinstance(free_bits, bool) or not isinstance(free_bits, (int, float)) or not (
            free_bits >= 0 and math.isfinite(free_bits)):
        raise ValueError(f"free_bits_kl: expected free_bits to be a finite number >= 0, "
                         f"got {free_bits!r}")
    per_dim = kl_per_dim.mean(axis=0)  # shape: [Z]
    if free_bits > 0:
        floor = paddle.full([], float(free_bits), dtype=kl_per_dim.dtype)
        per_dim = paddle.where(per_dim > floor, per_dim, floor)  # shape: [Z]
    return per_dim.sum()  # shape: []


def log_normal(z, mu, logvar):
    """Log density of a diagonal Gaussian, summed over the last axis.

    ``log N(z; mu, exp(logvar)) = -1/2 sum_d (log 2 pi + logvar_d + (z_d - mu_d)^2 / var_d)``.

    Args:
        z (Tensor): float32/float64, ``[..., latent_size]``, e.g. ``[batch_size, S, Z]``.
        mu (Tensor): same dtype and rank as ``z``, each axis equal to z's or 1 (pass
            ``mu.unsqueeze(1)`` for ``z [B, S, Z]``); the last axis must equal z's.
        logvar (Tensor): like ``mu``.

    Returns:
        Tensor: same dtype, ``z.shape[:-1]``.
    """
    _check_float("log_normal", "z", z)
    _check_float("log_normal", "mu", mu)
    _check_float("log_normal", "logvar", logvar)
    _check_broadcast_to("log_normal", "mu", mu, z)
    _check_broadcast_to("log_normal", "logvar", logvar, z)
    sq = (z - mu) ** 2 * paddle.exp(-logvar)  # shape: like z
    return -0.5 * (_LOG_2PI + logvar + sq).sum(axis=-1)  # shape: z.shape[:-1]


def log_standard_normal(z):
    """Log density of ``N(0, I)`` summed over the last axis: ``-1/2 sum_d (log 2 pi + z_d^2)``.

    Args:
        z (Tensor): float32/float64, ``[..., latent_size]``.

    Returns:
        Tensor: same dtype, ``z.shape[:-1]``.
    """
    _check_float("log_standard_normal", "z", z)
    if not _shape(z):
        raise ValueError("log_standard_normal: expected z of rank >= 1 ([..., latent_size]), "
                         "got []")
    return -0.5 * (_LOG_2PI + z * z).sum(axis=-1)  # shape: z.shape[:-1]


# ----------------------------------------------------------------------------------------------
# Decoder conditioning
# ----------------------------------------------------------------------------------------------


class LatentInjector(nn.Layer):
    """Condition an autoregressive decoder on ``z`` in two ways (either can be switched off).

    - **embedding** (Optimus): ``e = W_e z`` (no bias) is added to the input embedding of every
      decoder position, so z is visible at each step.
    - **memory** (Bowman et al. 2016; Optimus' "memory"): ``m = W_m z + b_m`` is one vector the
      decoder starts from: the initial hidden state of a GRU (``m.unsqueeze(0)``, tiled over
      layers if needed) or a one-slot memory ``m.unsqueeze(1)`` for a Transformer decoder's
      cross-attention.

    Args:
        latent_size (int): size Z of the latent code.
        hidden_size (int): size H of the decoder embeddings / hidden state.
        embedding (bool): produce the per-position embedding offset.
        memory (bool): produce the initial state / memory vector.
    """

    def __init__(self, latent_size, hidden_size, embedding=True, memory=True):
        super().__init__()
        if latent_size <= 0 or hidden_size <= 0:
            raise ValueError(f"LatentInjector: expected positive latent_size and hidden_size, "
                             f"got {latent_size} and {hidden_size}")
        if not (embedding or memory):
            raise ValueError("LatentInjector: expected embedding or memory (or both) to be "
                             "True, got both False")
        self.latent_size = latent_size
        self.hidden_size = hidden_size
        self.emb_proj = nn.Linear(latent_size, hidden_size, bias_attr=False) if embedding else None
        self.mem_proj = nn.Linear(latent_size, hidden_size) if memory else None

    def forward(self, z, embeddings=None):
        """Project ``z`` and optionally add it to the decoder input embeddings.

        Args:
            z (Tensor): float32/float64, ``[batch_size, latent_size]`` (flatten samples
                ``[B, S, Z] -> [B*S, Z]`` first).
            embeddings (Tensor, optional): same dtype, ``[batch_size, seq_len, hidden_size]``,
                the decoder input embeddings.

        Returns:
            dict: ``embedding`` (``[batch_size, hidden_size]`` or None when disabled),
            ``memory`` (``[batch_size, hidden_size]`` or None when disabled) and, when
            ``embeddings`` is given, ``inputs = embeddings + embedding[:, None, :]``
            (``[batch_size, seq_len, hidden_size]``; equal to ``embeddings`` when the embedding
            path is disabled).
        """
        _check_float("LatentInjector", "z", z, ["batch_size", self.latent_size])
        out = {"embedding": None, "memory": None}
        if self.emb_proj is not None:
            out["embedding"] = self.emb_proj(z)  # shape: [B, H]
        if self.mem_proj is not None:
            out["memory"] = self.mem_proj(z)  # shape: [B, H]
        if embeddings is not None:
            _check_float("LatentInjector", "embeddings", embeddings,
                         ["batch_size", "seq_len", self.hidden_size])
            eb, zb = _shape(embeddings)[0], _shape(z)[0]
            if eb >= 0 and zb >= 0 and eb != zb:
                raise ValueError(f"LatentInjector: expected embeddings and z with the same "
                                 f"batch_size, got {eb} and {zb}")
            if out["embedding"] is None:
                out["inputs"] = embeddings
            else:
                out["inputs"] = embeddings + out["embedding"].unsqueeze(1)  # shape: [B, T, H]
        return out


@paddle.jit.not_to_static
def _check_word_dropout(input_ids, rate, protected_mask):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"word_dropout: expected rate in [0, 1], got {rate!r}")
    if not paddle.is_integer(input_ids):
        raise ValueError(f"word_dropout: expected input_ids of an integer dtype, "
                         f"got {input_ids.dtype}")
    if _shape(protected_mask) != _shape(input_ids):
        raise ValueError(f"word_dropout: expected protected_mask of the shape of input_ids "
                         f"{_fmt(_shape(input_ids))}, got {_fmt(_shape(protected_mask))}")


def word_dropout(input_ids, rate, unk_id, protected_mask, training=True):
    """Replace decoder input tokens by ``unk_id`` with probability ``rate`` (Bowman et al. 2016).

    Each unprotected position is replaced independently (Bernoulli(rate), Paddle's global
    generator). Protected positions (BOS, padding, anything the caller marks) are never
    touched. With ``training=False`` or ``rate == 0`` the input is returned unchanged.

    Args:
        input_ids (Tensor): int32/int64, ``[batch_size, seq_len]``, the decoder inputs.
        rate (float): drop probability in ``[0, 1]``.
        unk_id (int): the id written at dropped positions.
        protected_mask (Tensor): bool/int, ``[batch_size, seq_len]``; nonzero = never drop.
        training (bool): pass the model's ``self.training``; False makes this a no-op.

    Returns:
        Tensor: same dtype and shape as ``input_ids``.
    """
    _check_word_dropout(input_ids, rate, protected_mask)
    if not training or rate == 0:
        return input_ids
    protected = protected_mask if protected_mask.dtype == paddle.bool else protected_mask != 0
    draw = paddle.rand(input_ids.shape, dtype="float32") < rate  # shape: [B, T]
    drop = paddle.logical_and(draw, paddle.logical_not(protected))  # shape: [B, T]
    unk = paddle.full([], int(unk_id), dtype=input_ids.dtype)
    return paddle.where(drop, unk, input_ids)  # shape: [B, T]


class WordDropout(nn.Layer):
    """Layer form of ``word_dropout`` that follows ``train()``/``eval()``.

    Args:
        rate (float): drop probability in ``[0, 1]``.
        unk_id (int): the id written at dropped positions.
    """

    def __init__(self, rate, unk_id):
        super().__init__()
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"WordDropout: expected rate in [0, 1], got {rate!r}")
        self.rate = float(rate)
        self.unk_id = int(unk_id)

    def forward(self, input_ids, protected_mask):
        """See ``word_dropout``: int ``[batch_size, seq_len]`` in and out."""
        return word_dropout(input_ids, self.rate, self.unk_id, protected_mask, self.training)
