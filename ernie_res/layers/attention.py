"""Masked attention: masked softmax/mean, additive attention pooling, entity-aware attention.

Every function here takes a ``mask`` in which 1/True marks a real position and 0/False marks
padding. Padding never changes an output at a real position: padded values are replaced by
zeros *before* any arithmetic (with ``paddle.where``, so even ``inf``/``nan`` garbage cannot
leak), and masked positions get exactly zero probability.

Sources:
    - Additive attention pooling: Z. Yang, D. Yang, C. Dyer, X. He, A. Smola, E. Hovy,
      "Hierarchical Attention Networks for Document Classification", NAACL 2016
      (score_t = v^T tanh(W x_t + b), weights = softmax over t).
    - Scaled dot-product / multi-head attention: A. Vaswani et al., "Attention Is All You
      Need", NeurIPS 2017.
    - Entities as queries over the sentence: J. Lee, S. Seo, Y. S. Choi, "Semantic Relation
      Classification via Bidirectional LSTM Networks with Entity-aware Attention using Latent
      Entity Typing", Symmetry 2019.

The small ``check_states`` / ``check_mask`` / ``real_mask`` helpers at the top are shared with
``ernie_res.layers.residual``.
"""

import math

import paddle
import paddle.nn as nn

__all__ = [
    "check_states",
    "check_mask",
    "real_mask",
    "masked_softmax",
    "masked_mean",
    "MaskedAttentionPooling",
    "EntityAwareAttention",
]


# ----------------------------------------------------------------------------------------------
# Shared input checks
# ----------------------------------------------------------------------------------------------


def _shape(t):
    return [int(d) if d is not None else -1 for d in t.shape]


def _fmt(dims):
    return "[" + ", ".join(str(d) for d in dims) + "]"


def _dims_match(got, expected):
    """``expected`` holds ints (must match) or names (any size). -1 in ``got`` = unknown."""
    if len(got) != len(expected):
        return False
    return all(isinstance(e, str) or g < 0 or g == e for g, e in zip(got, expected))


@paddle.jit.not_to_static
def check_states(owner, x, hidden_size, name="x", length="seq_len"):
    """Raise ``ValueError`` unless ``x`` is a floating tensor of shape ``[batch_size, seq_len, H]``.

    Args:
        owner (str): layer or function name used as the message prefix.
        x (Tensor): the tensor to check.
        hidden_size (int): the required size of the last axis.
        name (str): the argument name used in the message.
        length (str): the name of the middle axis used in the message.
    """
    expected = ["batch_size", length, hidden_size]
    got = _shape(x)
    if not _dims_match(got, expected):
        raise ValueError(f"{owner}: expected {name} of shape {_fmt(expected)}, got {_fmt(got)}")
    if not paddle.is_floating_point(x):
        raise ValueError(f"{owner}: expected {name} of a floating dtype, got {x.dtype}")


@paddle.jit.not_to_static
def check_mask(owner, mask, x, name="mask"):
    """Raise ``ValueError`` unless ``mask`` has shape ``x.shape[:2]`` and a bool/int/float dtype.

    Args:
        owner (str): layer or function name used as the message prefix.
        mask (Tensor): bool, int or float, ``[batch_size, seq_len]``; nonzero = real.
        x (Tensor): the states the mask belongs to, ``[batch_size, seq_len, ...]``.
        name (str): the argument name used in the message.
    """
    want = _shape(x)[:2]
    got = _shape(mask)
    if len(got) != 2 or not all(a < 0 or b < 0 or a == b for a, b in zip(got, want)):
        raise ValueError(
            f"{owner}: expected {name} of shape [batch_size, seq_len] = {_fmt(want)} "
            f"(the first two dims of x), got {_fmt(got)}"
        )
    if mask.dtype == paddle.bool or paddle.is_integer(mask) or paddle.is_floating_point(mask):
        return
    raise ValueError(f"{owner}: expected {name} of dtype bool, int or float, got {mask.dtype}")


@paddle.jit.not_to_static
def _check_same_batch(owner, queries, x):
    qb, xb = _shape(queries)[0], _shape(x)[0]
    if qb >= 0 and xb >= 0 and qb != xb:
        raise ValueError(
            f"{owner}: expected queries and x with the same batch_size, got {qb} and {xb}"
        )


def real_mask(mask):
    """Bool view of a mask: True where ``mask`` is nonzero (a real position)."""
    if mask.dtype == paddle.bool:
        return mask
    return mask != 0


def zero_padded(x, mask_bool):
    """Replace padded rows of ``x`` ``[B, T, H]`` with exact zeros (``where``, not multiply)."""
    # shape: [B, T, 1] broadcast against [B, T, H]
    return paddle.where(mask_bool.unsqueeze(-1), x, paddle.zeros([], dtype=x.dtype))


# ----------------------------------------------------------------------------------------------
# Masked reductions
# ----------------------------------------------------------------------------------------------


@paddle.jit.not_to_static
def _check_softmax_inputs(scores, mask):
    got, want = _shape(mask), _shape(scores)
    if len(got) != len(want) or not all(
        m in (1, s) or m < 0 or s < 0 for m, s in zip(got, want)
    ):
        raise ValueError(
            f"masked_softmax: expected mask of rank {len(want)} broadcastable to scores "
            f"{_fmt(want)}, got {_fmt(got)}"
        )
    if not paddle.is_floating_point(scores):
        raise ValueError(f"masked_softmax: expected scores of a floating dtype, got {scores.dtype}")


def masked_softmax(scores, mask, axis=-1):
    """Softmax along ``axis`` that gives masked-out positions exactly zero probability.

    Masked scores are replaced by the dtype's most negative finite value before the max-shift
    (no ``-inf`` arithmetic), and the exponentials are multiplied by the mask afterwards, so a
    masked position is exactly 0 and a row whose mask is all zero returns all zeros, not NaN.
    Garbage (even ``inf``/``nan``) in masked scores does not reach the output or the gradient.

    Args:
        scores (Tensor): float32/float64, any shape, e.g. ``[batch_size, seq_len]``.
        mask (Tensor): bool/int/float with the same rank as ``scores``; every axis equal to the
            one of ``scores`` or 1 (broadcast). Nonzero = keep.
        axis (int): the axis to normalise over.

    Returns:
        Tensor: same dtype and shape as ``scores``; sums to 1 along ``axis`` wherever at least
        one position is kept, and is all zeros where none is.
    """
    _check_softmax_inputs(scores, mask)
    keep = real_mask(mask)  # shape: like mask, broadcast against scores by where/multiply
    fill = paddle.full([], paddle.finfo(scores.dtype).min, dtype=scores.dtype)
    filled = paddle.where(keep, scores, fill)  # shape: like scores
    shift = filled.max(axis=axis, keepdim=True).detach()  # shape: scores with axis -> 1
    expd = paddle.exp(filled - shift) * keep.astype(scores.dtype)  # shape: like scores
    total = expd.sum(axis=axis, keepdim=True)  # shape: scores with axis -> 1
    total = paddle.where(total > 0, total, paddle.ones([], dtype=scores.dtype))
    return expd / total


def masked_mean(x, mask):
    """Mean of ``x`` over the real positions of each row.

    Args:
        x (Tensor): float32/float64, ``[batch_size, seq_len, hidden_size]``.
        mask (Tensor): bool/int/float, ``[batch_size, seq_len]``; nonzero = real.

    Returns:
        Tensor: same dtype as ``x``, ``[batch_size, hidden_size]``; zeros for a row with no
        real position.
    """
    check_states("masked_mean", x, "hidden_size")
    check_mask("masked_mean", mask, x)
    keep = real_mask(mask)  # shape: [B, T]
    total = zero_padded(x, keep).sum(axis=1)  # shape: [B, H]
    count = keep.astype(x.dtype).sum(axis=1, keepdim=True)  # shape: [B, 1]
    return total / paddle.clip(count, min=1.0)


# ----------------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------------


class MaskedAttentionPooling(nn.Layer):
    """Additive attention pooling of a masked sequence into one vector (Yang et al. 2016).

    ``score_t = v^T tanh(W x_t + b)``, ``a = masked_softmax(score, mask)``,
    ``pooled = sum_t a_t x_t``. Nothing assumes the positions are tokens: it pools chunk
    vectors ``[batch_size, num_chunks, H]`` with a chunk mask just as well.

    Dropout (if any) is applied to the attention weights used for pooling, as in Vaswani et al.
    2017; the returned ``weights`` are the weights before dropout.

    Args:
        hidden_size (int): size H of each input vector.
        attn_size (int, optional): size A of the hidden scoring layer; defaults to H.
        dropout (float): dropout probability on the attention weights.
    """

    def __init__(self, hidden_size, attn_size=None, dropout=0.0):
        super().__init__()
        attn_size = hidden_size if attn_size is None else attn_size
        if hidden_size <= 0 or attn_size <= 0:
            raise ValueError(
                f"MaskedAttentionPooling: expected positive hidden_size and attn_size, "
                f"got {hidden_size} and {attn_size}"
            )
        self.hidden_size = hidden_size
        self.attn_size = attn_size
        self.proj = nn.Linear(hidden_size, attn_size)  # W, b
        self.score = nn.Linear(attn_size, 1, bias_attr=False)  # v
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        """Pool ``x`` over its real positions.

        Args:
            x (Tensor): float32/float64, ``[batch_size, seq_len, hidden_size]``.
            mask (Tensor): bool/int/float, ``[batch_size, seq_len]``; nonzero = real.

        Returns:
            dict: ``pooled`` (same dtype as x, ``[batch_size, hidden_size]``; zeros for a row
            with no real position) and ``weights`` (``[batch_size, seq_len]``; 0 at padding,
            summing to 1 over each row that has a real position).
        """
        check_states("MaskedAttentionPooling", x, self.hidden_size)
        check_mask("MaskedAttentionPooling", mask, x)
        keep = real_mask(mask)  # shape: [B, T]
        x = zero_padded(x, keep)  # shape: [B, T, H]
        hidden = paddle.tanh(self.proj(x))  # shape: [B, T, A]
        scores = self.score(hidden).squeeze(-1)  # shape: [B, T]
        weights = masked_softmax(scores, keep, axis=-1)  # shape: [B, T]
        used = self.dropout(weights)  # shape: [B, T]
        pooled = (used.unsqueeze(-1) * x).sum(axis=1)  # shape: [B, H]
        return {"pooled": pooled, "weights": weights}


class EntityAwareAttention(nn.Layer):
    """Multi-head scaled dot-product attention with entity vectors as the queries.

    The entity representations (e.g. pooled head/tail spans) query the sentence token states
    (Lee et al. 2019), with learned projections as in Vaswani et al. 2017:
    ``Q = queries W_q``, ``K = x W_k``, ``V = x W_v``, split into ``num_heads`` heads of size
    ``d = H / num_heads``; ``A = masked_softmax(Q K^T / sqrt(d), mask)``;
    ``context = concat_heads(A V) W_o``.

    Dropout (if any) is applied to the attention weights before they multiply ``V``; the
    returned ``weights`` are the weights before dropout.

    Args:
        hidden_size (int): size H of queries and token states.
        num_heads (int): number of heads; must divide ``hidden_size``.
        dropout (float): dropout probability on the attention weights.
    """

    def __init__(self, hidden_size, num_heads=1, dropout=0.0):
        super().__init__()
        if num_heads <= 0 or hidden_size % num_heads != 0:
            raise ValueError(
                f"EntityAwareAttention: expected num_heads to divide hidden_size, "
                f"got hidden_size={hidden_size} and num_heads={num_heads}"
            )
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.head_size = hidden_size // num_heads
        self.q_proj = nn.Linear(hidden_size, hidden_size)
        self.k_proj = nn.Linear(hidden_size, hidden_size)
        self.v_proj = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def _split_heads(self, t):
        # shape: [B, L, H] -> [B, L, nh, d] -> [B, nh, L, d]
        t = t.reshape([0, 0, self.num_heads, self.head_size])
        return t.transpose([0, 2, 1, 3])

    def forward(self, queries, x, mask):
        """Attend from each query vector over the real token states.

        Args:
            queries (Tensor): float32/float64, ``[batch_size, num_queries, hidden_size]``.
            x (Tensor): same dtype, ``[batch_size, seq_len, hidden_size]``.
            mask (Tensor): bool/int/float, ``[batch_size, seq_len]``; nonzero = real.

        Returns:
            dict: ``context`` (``[batch_size, num_queries, hidden_size]``) and ``weights``
            (``[batch_size, num_heads, num_queries, seq_len]``; 0 at padding). A row with no
            real token gets all-zero weights, so its context is the output bias.
        """
        name = "EntityAwareAttention"
        check_states(name, x, self.hidden_size)
        check_states(name, queries, self.hidden_size, name="queries", length="num_queries")
        check_mask(name, mask, x)
        _check_same_batch(name, queries, x)
        keep = real_mask(mask)  # shape: [B, T]
        x = zero_padded(x, keep)  # shape: [B, T, H]
        q = self._split_heads(self.q_proj(queries))  # shape: [B, nh, Q, d]
        k = self._split_heads(self.k_proj(x))  # shape: [B, nh, T, d]
        v = self._split_heads(self.v_proj(x))  # shape: [B, nh, T, d]
        scores = paddle.matmul(q, k, transpose_y=True)  # shape: [B, nh, Q, T]
        scores = scores / math.sqrt(self.head_size)
        weights = masked_softmax(scores, keep.unsqueeze(1).unsqueeze(1), axis=-1)  # [B,nh,Q,T]
        heads = paddle.matmul(self.dropout(weights), v)  # shape: [B, nh, Q, d]
        heads = heads.transpose([0, 2, 1, 3]).reshape([0, 0, self.hidden_size])  # [B, Q, H]
        context = self.out_proj(heads)  # shape: [B, Q, H]
        return {"context": context, "weights": weights}
