"""Autoregressive word-piece decoders conditioned on an optional latent vector.

Two interchangeable decoders (``build_decoder(kind, ...)``):

* ``gru``: a multi-layer GRU (Bowman et al. 2016) whose initial state is ``tanh(memory)``;
* ``transformer``: a causal Transformer decoder (Vaswani et al. 2017) with learned positions
  whose cross-attention reads a one-slot memory (Optimus' "memory" injection).

``memory`` is ``[B, D]`` (from ``LatentInjector``) or None for the language-model baseline,
in which case the GRU starts from zeros and the Transformer attends to a learned constant
slot. Latent "embedding" injection is done by the caller, who adds it to ``embeddings``.
Both return logits ``[B, T, V]`` for every input position (teacher forcing).
"""
import contextlib

import paddle
import paddle.nn as nn


class GRUDecoder(nn.Layer):
    def __init__(self, hidden_size, num_layers, dropout):
        super().__init__()
        self.num_layers = num_layers
        self.rnn = nn.GRU(hidden_size, hidden_size, num_layers=num_layers,
                          dropout=dropout if num_layers > 1 else 0.0)

    def forward(self, embeddings, memory, mask):
        """Args: embeddings ``[B, T, D]``, memory ``[B, D]`` or None, mask ``[B, T]``.
        Returns ``[B, T, D]`` hidden states (padded steps are ignored by the caller)."""
        b = embeddings.shape[0]
        if memory is None:
            h0 = paddle.zeros([self.num_layers, b, embeddings.shape[-1]], embeddings.dtype)
        else:
            h0 = paddle.tanh(memory).unsqueeze(0).tile([self.num_layers, 1, 1])  # [L, B, D]
        out, _ = self.rnn(embeddings, h0)                                       # [B, T, D]
        return out

    @contextlib.contextmanager
    def differentiable_eval(self):
        """Paddle's fused RNN op keeps no backward buffers in test mode; run it in training
        mode with its dropout off so gradients flow while the outputs equal eval mode's."""
        training, dropout = self.rnn.training, self.rnn.dropout
        self.rnn.training, self.rnn.dropout = True, 0.0
        try:
            yield
        finally:
            self.rnn.training, self.rnn.dropout = training, dropout


class TransformerLMDecoder(nn.Layer):
    def __init__(self, hidden_size, num_layers, num_heads, dropout, max_len):
        super().__init__()
        self.positions = nn.Embedding(max_len, hidden_size)
        self.null_memory = self.create_parameter([1, 1, hidden_size],
                                                 default_initializer=nn.initializer.Normal(0, .02))
        layer = nn.TransformerDecoderLayer(hidden_size, num_heads, 4 * hidden_size,
                                           dropout=dropout, normalize_before=True)
        self.decoder = nn.TransformerDecoder(layer, num_layers, norm=nn.LayerNorm(hidden_size))
        self.max_len = max_len

    def forward(self, embeddings, memory, mask):
        b, t, d = embeddings.shape
        if t > self.max_len:
            raise ValueError(f"TransformerLMDecoder: expected at most {self.max_len} positions, "
                             f"got {t}")
        pos = paddle.arange(t, dtype="int64").unsqueeze(0)                      # [1, T]
        x = embeddings + self.positions(pos)                                     # [B, T, D]
        causal = paddle.tril(paddle.ones([t, t], dtype="bool"))                  # [T, T]
        keep = causal.unsqueeze([0, 1]) & mask.astype("bool").unsqueeze([1, 2])  # [B,1,T,T]
        keep = keep | paddle.eye(t).astype("bool").unsqueeze([0, 1])            # no empty row
        mem = (self.null_memory.tile([b, 1, 1]) if memory is None
               else memory.unsqueeze(1))                                         # [B, 1, D]
        return self.decoder(x, mem, tgt_mask=keep)                               # [B, T, D]

    def differentiable_eval(self):
        return contextlib.nullcontext()


def build_decoder(kind, hidden_size, num_layers, num_heads, dropout, max_len):
    if kind == "gru":
        return GRUDecoder(hidden_size, num_layers, dropout)
    if kind == "transformer":
        if hidden_size % num_heads:
            raise ValueError(f"transformer decoder: hidden size {hidden_size} is not divisible "
                             f"by {num_heads} heads")
        return TransformerLMDecoder(hidden_size, num_layers, num_heads, dropout, max_len)
    raise ValueError(f"decoder: expected 'gru' or 'transformer', got {kind!r}")
