"""Pre-activation residual blocks over masked token states, and a masked batch norm.

The convolutional block follows the "full pre-activation" residual unit of
K. He, X. Zhang, S. Ren, J. Sun, "Identity Mappings in Deep Residual Networks", ECCV 2016:
the identity path is left untouched and normalisation + activation come *before* each
convolution. Batch normalisation is S. Ioffe, C. Szegedy, "Batch Normalization", ICML 2015,
restricted here to real tokens. The feed-forward block is the pre-LN position-wise
feed-forward of A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017, on vectors.

Padding never changes an output at a real position, nor the batch statistics: padded rows are
replaced by exact zeros (``paddle.where``) before every convolution, so no kernel reads them,
and ``MaskedBatchNorm1D`` computes its statistics over real tokens only.
"""

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ernie_res.layers.attention import check_mask, check_states, real_mask, zero_padded

__all__ = ["MaskedBatchNorm1D", "ResidualConvBlock", "ResidualStack", "ResidualMLP"]

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "tanh": paddle.tanh, "silu": F.silu}
NORMS = ("layer", "batch", "none")


def _activation(owner, name):
    if name not in ACTIVATIONS:
        raise ValueError(f"{owner}: expected activation in {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


@paddle.jit.not_to_static
def _check_vectors(owner, x, hidden_size):
    shape = [int(d) if d is not None else -1 for d in x.shape]
    if len(shape) == 0 or (shape[-1] >= 0 and shape[-1] != hidden_size):
        raise ValueError(f"{owner}: expected x of shape [..., {hidden_size}], got {shape}")
    if not paddle.is_floating_point(x):
        raise ValueError(f"{owner}: expected x of a floating dtype, got {x.dtype}")


class MaskedBatchNorm1D(nn.Layer):
    """Batch norm over the channel axis of ``[batch_size, seq_len, C]`` using real tokens only.

    In training mode the per-channel mean and (biased) variance are taken over the real tokens
    of the whole batch, ``n = sum(mask)``: ``mean = sum_{b,t} m x / n``,
    ``var = sum_{b,t} m (x - mean)^2 / n``, and the running statistics are updated with
    Paddle's convention ``running = momentum * running + (1 - momentum) * batch`` (the biased
    batch variance, as ``paddle.nn.BatchNorm1D`` does). A batch with no real token leaves the
    running statistics unchanged. In eval mode the running statistics are used.
    ``y = (x - mean) / sqrt(var + epsilon) * weight + bias`` at real tokens, 0 at padding.

    Args:
        num_features (int): number of channels C.
        momentum (float): running-statistics momentum, in [0, 1].
        epsilon (float): added to the variance for stability.
    """

    def __init__(self, num_features, momentum=0.9, epsilon=1e-5):
        super().__init__()
        if num_features <= 0:
            raise ValueError(f"MaskedBatchNorm1D: expected num_features > 0, got {num_features}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"MaskedBatchNorm1D: expected momentum in [0, 1], got {momentum}")
        self.num_features = num_features
        self.momentum = momentum
        self.epsilon = epsilon
        one, zero = nn.initializer.Constant(1.0), nn.initializer.Constant(0.0)
        self.weight = self.create_parameter([num_features], default_initializer=one)
        self.bias = self.create_parameter([num_features], is_bias=True, default_initializer=zero)
        self.register_buffer("_mean", paddle.zeros([num_features]))
        self.register_buffer("_variance", paddle.ones([num_features]))

    def forward(self, x, mask):
        """Normalise ``x`` with statistics of its real tokens (train) or running ones (eval).

        Args:
            x (Tensor): float32/float64, ``[batch_size, seq_len, num_features]``.
            mask (Tensor): bool/int/float, ``[batch_size, seq_len]``; nonzero = real.

        Returns:
            Tensor: same dtype and shape as ``x``; exactly 0 at padded positions.
        """
        check_states("MaskedBatchNorm1D", x, self.num_features)
        check_mask("MaskedBatchNorm1D", mask, x)
        keep = real_mask(mask)  # shape: [B, T]
        if self.training:
            count = keep.astype(x.dtype).sum()  # shape: []
            denom = paddle.clip(count, min=1.0)  # shape: []
            mean = zero_padded(x, keep).sum(axis=[0, 1]) / denom  # shape: [C]
            centered = zero_padded(x - mean, keep)  # shape: [B, T, C]
            var = (centered * centered).sum(axis=[0, 1]) / denom  # shape: [C]
            self._update_running(mean, var, count > 0)
        else:
            mean, var = self._mean, self._variance  # shape: [C], [C]
        y = (x - mean) * paddle.rsqrt(var + self.epsilon)  # shape: [B, T, C]
        y = y * self.weight + self.bias  # shape: [B, T, C]
        return zero_padded(y, keep)

    @paddle.no_grad()
    def _update_running(self, mean, var, has_tokens):
        m = self.momentum
        for buf, stat in ((self._mean, mean), (self._variance, var)):
            new = m * buf + (1.0 - m) * stat.detach().astype(buf.dtype)  # shape: [C]
            paddle.assign(paddle.where(has_tokens, new, buf), output=buf)

    def extra_repr(self):
        return f"num_features={self.num_features}, momentum={self.momentum}, epsilon={self.epsilon}"


def _tokens_conv(conv, h):
    """A channels-first ``Conv1D`` over ``[B, T, H]`` token states: ``[B, T, H]`` back."""
    return conv(h.transpose([0, 2, 1])).transpose([0, 2, 1])  # shape: [B, H, T] -> [B, T, H]


class ResidualConvBlock(nn.Layer):
    """Full pre-activation residual block of two "same"-padded 1-D convolutions over tokens.

    With ``m`` the mask, ``zero(h)`` the padded rows of ``h`` set to 0 and ``act`` the
    activation (He et al. 2016, fig. 4e, with our masking):

        h = Conv1D_1(zero(act(Norm_1(x))))
        h = Conv1D_2(zero(act(Norm_2(h))))
        y = zero(x + Dropout(h))

    so padding is zeroed before every convolution and never reaches a real position through a
    kernel; the output is exactly 0 at padded positions. Each output position depends on the
    inputs within ``2 * (kernel_size // 2)`` positions of it (for ``norm="layer"``/``"none"``,
    or ``"batch"`` in eval mode; in training mode batch statistics couple all real tokens).

    Args:
        hidden_size (int): channels H in and out.
        kernel_size (int): odd width of both convolutions.
        dropout (float): dropout probability on the residual branch.
        norm (str): ``"layer"`` (LayerNorm per token), ``"batch"`` (MaskedBatchNorm1D) or
            ``"none"``.
        activation (str): one of ``"gelu"``, ``"relu"``, ``"tanh"``, ``"silu"``.
    """

    def __init__(self, hidden_size, kernel_size=3, dropout=0.1, norm="layer", activation="gelu"):
        super().__init__()
        name = "ResidualConvBlock"
        if hidden_size <= 0:
            raise ValueError(f"{name}: expected hidden_size > 0, got {hidden_size}")
        if not isinstance(kernel_size, int) or kernel_size <= 0 or kernel_size % 2 == 0:
            raise ValueError(
                f"{name}: expected an odd positive kernel_size (so 'same' padding keeps "
                f"seq_len), got {kernel_size!r}"
            )
        if norm not in NORMS:
            raise ValueError(f"{name}: expected norm in {NORMS}, got {norm!r}")
        self.hidden_size = hidden_size
        self.kernel_size = kernel_size
        self.norm_type = norm
        self.activation = activation
        self.act = _activation(name, activation)
        self.norm1 = self._make_norm(norm, hidden_size)
        # channels-first convolutions behind explicit transposes: with data_format="NLC"
        # Paddle Inference's oneDNN conv kernel reads the NHWC input with the wrong layout
        # ("input's channels is 128 ... filter's channels is 64"); NCL runs under oneDNN and
        # is bitwise equal to NLC in the dynamic graph (tests/layers/test_residual.py)
        self.conv1 = nn.Conv1D(hidden_size, hidden_size, kernel_size, padding=kernel_size // 2)
        self.norm2 = self._make_norm(norm, hidden_size)
        self.conv2 = nn.Conv1D(hidden_size, hidden_size, kernel_size, padding=kernel_size // 2)
        self.dropout = nn.Dropout(dropout)

    @staticmethod
    def _make_norm(norm, hidden_size):
        if norm == "layer":
            return nn.LayerNorm(hidden_size)
        if norm == "batch":
            return MaskedBatchNorm1D(hidden_size)
        return nn.Identity()

    def _norm(self, layer, h, keep):
        return layer(h, keep) if self.norm_type == "batch" else layer(h)

    def forward(self, x, mask):
        """Apply the block.

        Args:
            x (Tensor): float32/float64, ``[batch_size, seq_len, hidden_size]``.
            mask (Tensor): bool/int/float, ``[batch_size, seq_len]``; nonzero = real.

        Returns:
            Tensor: same dtype and shape as ``x``; exactly 0 at padded positions.
        """
        check_states("ResidualConvBlock", x, self.hidden_size)
        check_mask("ResidualConvBlock", mask, x)
        keep = real_mask(mask)  # shape: [B, T]
        h = self.act(self._norm(self.norm1, x, keep))  # shape: [B, T, H]
        h = _tokens_conv(self.conv1, zero_padded(h, keep))  # shape: [B, T, H]
        h = self.act(self._norm(self.norm2, h, keep))  # shape: [B, T, H]
        h = _tokens_conv(self.conv2, zero_padded(h, keep))  # shape: [B, T, H]
        return zero_padded(x + self.dropout(h), keep)  # shape: [B, T, H]

    def extra_repr(self):
        return (f"hidden_size={self.hidden_size}, kernel_size={self.kernel_size}, "
                f"norm={self.norm_type!r}, activation={self.activation!r}")


class ResidualStack(nn.Layer):
    """``num_blocks`` ResidualConvBlocks in sequence; ``num_blocks == 0`` is the identity.

    This is what the config switch ``Model.num_res_blocks`` maps to.

    Args:
        num_blocks (int): number of blocks, >= 0.
        hidden_size (int): channels H.
        **block_kwargs: passed to every ``ResidualConvBlock`` (kernel_size, dropout, norm,
            activation).
    """

    def __init__(self, num_blocks, hidden_size, **block_kwargs):
        super().__init__()
        if not isinstance(num_blocks, int) or num_blocks < 0:
            raise ValueError(f"ResidualStack: expected num_blocks >= 0, got {num_blocks!r}")
        self.hidden_size = hidden_size
        self.blocks = nn.LayerList(
            [ResidualConvBlock(hidden_size, **block_kwargs) for _ in range(num_blocks)]
        )

    def forward(self, x, mask):
        """Apply the blocks in order.

        Args:
            x (Tensor): float32/float64, ``[batch_size, seq_len, hidden_size]``.
            mask (Tensor): bool/int/float, ``[batch_size, seq_len]``; nonzero = real.

        Returns:
            Tensor: same dtype and shape as ``x``. With no blocks it is ``x`` itself
            (padding untouched); otherwise exactly 0 at padded positions.
        """
        check_states("ResidualStack", x, self.hidden_size)
        check_mask("ResidualStack", mask, x)
        for block in self.blocks:
            x = block(x, mask)  # shape: [B, T, H]
        return x


class ResidualMLP(nn.Layer):
    """Pre-LN residual feed-forward block on vectors: ``y = x + Dropout(W2 act(W1 LN(x)))``.

    Used by the relation head on pooled vectors; works on any leading shape.

    Args:
        hidden_size (int): size H of the last axis, in and out.
        inner_size (int, optional): size of the hidden layer; defaults to ``4 * hidden_size``
            (Vaswani et al. 2017).
        dropout (float): dropout probability on the residual branch.
        activation (str): one of ``"gelu"``, ``"relu"``, ``"tanh"``, ``"silu"``.
    """

    def __init__(self, hidden_size, inner_size=None, dropout=0.1, activation="gelu"):
        super().__init__()
        inner_size = 4 * hidden_size if inner_size is None else inner_size
        if hidden_size <= 0 or inner_size <= 0:
            raise ValueError(
                f"ResidualMLP: expected positive hidden_size and inner_size, "
                f"got {hidden_size} and {inner_size}"
            )
        self.hidden_size = hidden_size
        self.act = _activation("ResidualMLP", activation)
        self.norm = nn.LayerNorm(hidden_size)
        self.fc1 = nn.Linear(hidden_size, inner_size)  # W1
        self.fc2 = nn.Linear(inner_size, hidden_size)  # W2
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        """Apply the block to every vector along the last axis.

        Args:
            x (Tensor): float32/float64, ``[..., hidden_size]`` (at least 1-D).

        Returns:
            Tensor: same dtype and shape as ``x``.
        """
        _check_vectors("ResidualMLP", x, self.hidden_size)
        h = self.act(self.fc1(self.norm(x)))  # shape: [..., inner_size]
        return x + self.dropout(self.fc2(h))  # shape: [..., H]
