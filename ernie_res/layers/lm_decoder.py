"""Autoregressive word-piece decoders conditioned on an optional latent vector.

Two interchangeable decoders (``build_decoder(kind, ...)``):

* ``gru``: a multi-layer GRU (Bowman et al. 2016) whose initial state is ``tanh(memory)``;
* ``transformer``: a causal Transformer decoder (Vaswani et al. 2017) with learned positions
  whose cross-attention reads a one-slot memory (Optimus' "memory" injection).

``memory`` is ``[B, D]`` (from ``LatentInjector``) or None for the language-model baseline,
in which case the GRU starts from zeros and the Transformer attends to a learned constant
slot. Latent "embedding" injection is done by the caller, who adds it to ``embeddings``.
Both return hidden states ``[B, T, D]`` for every input position (teacher forcing).

One token at a time (the decoding loop of ``models/generation.py``), each decoder carries a
state between steps: the GRU its hidden state (``initial_state(memory, like)``, then
``step(inputs, state)``), the Transformer the keys and values of every earlier position in each
layer (``step(inputs, memory, keys, values)``, starting from a cache of length 0), so a step
costs one position, not the whole prefix. Everything traces to a static graph with dynamic
batch and length: the length check runs in Python (``paddle.jit.not_to_static``) and masks are
built from ``arange`` comparisons, not from shapes.
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

    def forward(self, embeddings, memory, mask=None):
        """Args: embeddings ``[B, T, D]``, memory ``[B, D]`` or None, mask ``[B, T]`` (unused:
        padded steps come last and the caller ignores them). Returns ``[B, T, D]`` hidden
        states."""
        out, _ = self.step(embeddings, self.initial_state(memory, embeddings))   # [B, T, D]
        return out

    def initial_state(self, memory, like):
        """The state before the first input, float ``[L, B, D]``: ``tanh(memory)`` on every
        layer, or zeros when ``memory`` is None (the LM). ``like``: ``[B, ..., D]`` inputs,
        for the batch size and dtype."""
        if memory is None:
            return paddle.zeros([self.num_layers, like.shape[0], like.shape[-1]], like.dtype)
        return paddle.tanh(memory).unsqueeze(0).tile([self.num_layers, 1, 1])    # [L, B, D]

    def step(self, embeddings, state):
        """Run ``[B, T, D]`` inputs (``T = 1`` when decoding) from ``state [L, B, D]``.
        Returns ``(outputs [B, T, D], state after the last input [L, B, D])``."""
        return self.rnn(embeddings, state)

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


@paddle.jit.not_to_static
def _check_length(max_len, x, axis, add=0):
    """``x.shape[axis] + add`` positions at most (-1 while tracing: not checked)."""
    t = x.shape[axis]
    if t >= 0 and t + add > max_len:
        raise ValueError(f"TransformerLMDecoder: expected at most {max_len} positions, got "
                         f"{t + add}")


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

    def forward(self, embeddings, memory, mask=None):
        """Args: embeddings ``[B, T, D]`` (``T <= max_len``), memory ``[B, D]`` or None, mask
        ``[B, T]`` (None: every position is real). Returns ``[B, T, D]`` hidden states."""
        _check_length(self.max_len, embeddings, 1)
        pos = paddle.arange(embeddings.shape[1], dtype="int64")                  # [T]
        x = embeddings + self.positions(pos.unsqueeze(0))                        # [B, T, D]
        query, key = pos.unsqueeze(1), pos.unsqueeze(0)                          # [T,1], [1,T]
        keep = (key <= query).unsqueeze([0, 1])                                  # [1, 1, T, T]
        if mask is not None:
            keep = keep & mask.astype("bool").unsqueeze([1, 2])                 # [B, 1, T, T]
            keep = keep | (key == query).unsqueeze([0, 1])                       # no empty row
        return self.decoder(x, self._memory(memory, embeddings), tgt_mask=keep)  # [B, T, D]

    def _memory(self, memory, embeddings):
        """The one-slot memory ``[B, 1, D]``: ``memory [B, D]``, or the learned slot."""
        if memory is None:
            return self.null_memory.tile([embeddings.shape[0], 1, 1])
        return memory.unsqueeze(1)

    def step(self, embeddings, memory, keys, values):
        """Read the input at position ``t`` given the self-attention keys and values of
        positions ``0 .. t-1`` (eval; an incremental form of ``forward``).

        Args:
            embeddings: float ``[B, 1, D]``, the input at position ``t``.
            memory: ``[B, D]`` or None.
            keys, values: float ``[L, B, heads, t, D / heads]`` (``t = 0`` at the start: the
                position read is the cache length; ``t < max_len``).

        Returns:
            ``(outputs [B, 1, D], keys, values [L, B, heads, t + 1, D / heads])``.
        """
        _check_length(self.max_len, keys, 3, add=1)
        t = keys.shape[3]
        pos = paddle.arange(t, t + 1, dtype="int64").unsqueeze(0)                # [1, 1]
        x = embeddings + self.positions(pos)                                     # [B, 1, D]
        mem = self._memory(memory, embeddings)                                   # [B, 1, D]
        new_keys, new_values = [], []
        for layer, k, v in zip(self.decoder.layers, paddle.unbind(keys), paddle.unbind(values)):
            cache = (nn.MultiHeadAttention.Cache(k, v),
                     layer.cross_attn.gen_cache(mem, mem, nn.MultiHeadAttention.StaticCache))
            x, (past, _) = layer(x, mem, cache=cache)     # one query: every key is visible
            new_keys.append(past.k)                                              # [B, h, t+1, d]
            new_values.append(past.v)
        return self.decoder.norm(x), paddle.stack(new_keys), paddle.stack(new_values)

    def cache_shape(self):
        """``[L, None, heads, None, D / heads]``: the shape of ``keys`` and ``values``
        (batch and length dynamic)."""
        layer = self.decoder.layers[0].self_attn
        return [len(self.decoder.layers), None, layer.num_heads, None, layer.head_dim]

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
