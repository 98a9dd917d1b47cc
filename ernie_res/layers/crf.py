"""Linear-chain conditional random field: negative log-likelihood and Viterbi decoding.

A linear-chain CRF (Lafferty, McCallum and Pereira, "Conditional Random Fields: Probabilistic
Models for Segmenting and Labeling Sequence Data", ICML 2001) scores a tag path y_0 .. y_{n-1}
of a sequence with n real steps as

    score(y) = start[y_0] + sum_t emissions[t, y_t] + sum_{t>=1} transitions[y_{t-1}, y_t]
               + end[y_{n-1}]

and defines p(y | x) = exp(score(y)) / Z. log Z is computed with the log-space forward
algorithm and the best path with the Viterbi algorithm (Michael Collins, "The Forward-Backward
Algorithm", lecture notes, Columbia University, http://www.cs.columbia.edu/~mcollins/fb.pdf).

We do not use ``paddlenlp.layers.LinearChainCrfLoss``: its ``LinearChainCrf.forward`` reduces
``alpha[prev] + transitions[next, prev]``, i.e. it computes log Z with the transition matrix
transposed, while its gold score uses ``transitions[prev, next]``. Its loss is therefore wrong
unless the transitions are symmetric (and a ``relu`` hides the resulting negative losses).
``tests/layers/test_crf.py`` shows the disagreement against brute-force enumeration.

Implementation notes (the speed-ups are measured in ``docs/benchmarks.md``):

* Nothing loops over the batch; the only Python loops run over time steps, and each step
  costs a few Paddle op dispatches. To halve their number, a forward sweep from the left
  (alpha) and a backward sweep from the right (beta) run together in the same ops, stacked along
  the batch axis, and meet at t = T // 2: log Z = logsumexp_j(alpha_t[j] + beta_t[j]) holds at
  every t (Collins' notes), and with max in place of logsumexp this is the Viterbi score.
* All per-step potentials ``emissions[t, j] + transitions[i, j]`` come from one matmul of
  per-step features with a fixed pattern (``_potentials``): Paddle's CPU broadcasting add is
  tens of times slower than a GEMM at these sizes.
* A padded step (mask 0) gets the "carry" potential: 0 on the diagonal and ``_NO_CARRY`` = -1e9
  off it. Both sweeps then carry their state through padded steps unchanged (exp(-1e9 + any
  realistic score gap) is exactly 0), Viterbi backpointers there are the identity, and the
  backward sweep's start state (the end transitions) reaches each sequence's last real step.
* Forbidden transitions (``constraints``) get ``NEG_PENALTY`` = -1e4 in training, not -inf,
  so that gradients stay finite, and ``DECODE_PENALTY`` = -1e9 in decoding, so that constrained
  Viterbi returns a valid path even for emissions of +-1e4 (-1e4 is not enough there; -inf
  would turn into NaN in the potentials' matmul).
* Inputs are checked on the host (one small device-to-host copy per call) and Viterbi
  backtracking runs in numpy. The layer is for dynamic-graph use: the loops over time steps do
  not convert to a static graph. ``viterbi_decode`` here is the reference decoder (tested
  against brute force, on any device); ``SeqTagger`` decodes with Paddle's ``viterbi_decode``
  op instead (``decode_in_graph`` in ``models/seq_tagger.py``), given the scores folded into
  one matrix by ``bos_eos_transitions``, so that training-time evaluation, prediction and
  the exported program run one decoder.
"""

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ernie_res.layers.tag_constraints import allowed_transitions  # noqa: F401 (re-export)

__all__ = ["LinearChainCRF", "allowed_transitions", "NEG_PENALTY", "DECODE_PENALTY"]

NEG_PENALTY = -1e4  # added to a forbidden transition score in training (constrain_training=True)
DECODE_PENALTY = -1e9  # added to a forbidden transition score in viterbi_decode
_NO_CARRY = -1e9  # off-diagonal "carry" potential at padded steps
_UNREACHABLE = -1e30  # bos_eos_transitions: entering the op's BOS/EOS tags (below any real path)
_REDUCTIONS = ("mean", "sum", "none")


class LinearChainCRF(nn.Layer):
    """Linear-chain CRF with start/end transitions, used as a loss and as a decoder.

    Args:
        num_labels (int): number of tags L.
        constraints (tuple, optional): ``(allowed [L, L], allowed_start [L], allowed_end [L])``
            bool arrays or tensors, e.g. from :func:`allowed_transitions`. Stored as
            (persistable, non-trainable) buffers. Viterbi decoding always applies them
            (``DECODE_PENALTY`` on a forbidden transition).
        constrain_training (bool): also apply them (``NEG_PENALTY``) in ``log_partition``,
            ``score`` and ``nll``.

    Parameters (float32, uniform in [-0.1, 0.1]): ``transitions [L, L]`` (score of i -> j),
    ``start_transitions [L]``, ``end_transitions [L]``; these are all of ``parameters()``.

    Every method takes ``emissions`` (float16/32/64 ``[batch_size, seq_len, L]``) and either
    ``mask`` (bool/int/float ``[batch_size, seq_len]``, 1 = real, left-aligned, first step real)
    or ``lengths`` (int ``[batch_size]``, in [1, seq_len]); with neither, every step is real.
    Math runs in float64 if the emissions are float64, otherwise in float32 (AMP is disabled
    inside, so float16 emissions are upcast).
    """

    def __init__(self, num_labels, constraints=None, constrain_training=False):
        super().__init__()
        if isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 1:
            raise ValueError(f"LinearChainCRF: expected num_labels to be an int >= 1, got {num_labels!r}")
        self.num_labels = num_labels
        self.constrain_training = bool(constrain_training)
        init = nn.initializer.Uniform(-0.1, 0.1)
        shapes = ([num_labels, num_labels], [num_labels], [num_labels])
        self.transitions, self.start_transitions, self.end_transitions = (
            self.create_parameter(shape, dtype="float32", default_initializer=init) for shape in shapes
        )
        self.constrained = constraints is not None
        if self.constrain_training and not self.constrained:
            raise ValueError("LinearChainCRF: expected constraints with constrain_training=True, got None")
        if self.constrained:
            if not isinstance(constraints, (tuple, list)) or len(constraints) != 3:
                raise ValueError("LinearChainCRF: expected constraints=(allowed, allowed_start, allowed_end), "
                                 f"got {type(constraints).__name__}")
            for name, shape, value in zip(("allowed", "allowed_start", "allowed_end"), shapes, constraints):
                array = np.asarray(value.numpy() if isinstance(value, paddle.Tensor) else value)
                if list(array.shape) != shape or array.dtype != np.bool_:
                    raise ValueError(f"LinearChainCRF: expected {name} to be a bool array of shape {shape}, "
                                     f"got {array.dtype} {list(array.shape)}")
                self.register_buffer(name, paddle.to_tensor(array))

    def extra_repr(self):
        return (f"num_labels={self.num_labels}, constrained={self.constrained}, "
                f"constrain_training={self.constrain_training}")

    # ------------------------------------------------------------------ public API

    def forward(self, emissions, tags, mask=None, lengths=None):
        """Mean negative log-likelihood, so the layer can be used as a loss. Arguments as in
        :meth:`nll`.

        Returns:
            Tensor: float32 (float64 for float64 emissions) scalar, shape ``[]``.
        """
        return self.nll(emissions, tags, mask=mask, lengths=lengths, reduction="mean")

    def nll(self, emissions, tags, mask=None, lengths=None, reduction="mean"):
        """Negative log-likelihood ``log Z - score(tags)`` of the gold paths.

        Args:
            emissions (Tensor): float ``[batch_size, seq_len, num_labels]``.
            tags (Tensor): int ``[batch_size, seq_len]``; values at padded steps are ignored.
            mask (Tensor, optional): ``[batch_size, seq_len]``; see the class docstring.
            lengths (Tensor, optional): int ``[batch_size]``.
            reduction (str): ``"mean"`` or ``"sum"`` over the batch, or ``"none"``.

        Returns:
            Tensor: float32/float64, shape ``[]`` (mean, sum) or ``[batch_size]`` (none).
        """
        if reduction not in _REDUCTIONS:
            raise ValueError(f"LinearChainCRF: expected reduction in {_REDUCTIONS}, got {reduction!r}")
        with paddle.amp.auto_cast(enable=False):
            emissions, tags, mask = self._validate(emissions, tags, mask, lengths)
            params = self._params(emissions.dtype, self._training_penalty())
            nll = self._log_partition(emissions, mask, *params) - self._score(emissions, tags, mask, *params)
        if reduction == "none":
            return nll  # shape: [B]
        return nll.mean() if reduction == "mean" else nll.sum()

    def log_partition(self, emissions, mask=None, lengths=None):
        """log Z, the log-sum-exp of the scores of all paths (forward algorithm). Arguments as
        in :meth:`nll`.

        Returns:
            Tensor: float32/float64 ``[batch_size]``.
        """
        with paddle.amp.auto_cast(enable=False):
            emissions, _, mask = self._validate(emissions, None, mask, lengths)
            return self._log_partition(emissions, mask, *self._params(emissions.dtype, self._training_penalty()))

    def score(self, emissions, tags, mask=None, lengths=None):
        """Unnormalised score of the given tag paths over their real steps. Arguments as in
        :meth:`nll`.

        Returns:
            Tensor: float32/float64 ``[batch_size]``.
        """
        with paddle.amp.auto_cast(enable=False):
            emissions, tags, mask = self._validate(emissions, tags, mask, lengths)
            return self._score(emissions, tags, mask, *self._params(emissions.dtype, self._training_penalty()))

    def viterbi_decode(self, emissions, mask=None, lengths=None):
        """Highest-scoring path of each sequence (constraints always applied), without gradient.

        Args:
            emissions (Tensor): float ``[batch_size, seq_len, num_labels]``.
            mask (Tensor, optional): ``[batch_size, seq_len]``; see the class docstring.
            lengths (Tensor, optional): int ``[batch_size]``.

        Returns:
            tuple: ``(best_scores, best_paths)``: float32/float64 ``[batch_size]`` and int64
            ``[batch_size, seq_len]`` with 0 at padded steps.
        """
        with paddle.no_grad(), paddle.amp.auto_cast(enable=False):
            emissions, _, mask = self._validate(emissions, None, mask, lengths)
            trans, start, end = self._params(emissions.dtype, DECODE_PENALTY if self.constrained else None)
            batch_size, seq_len, num_labels = emissions.shape
            middle = seq_len // 2
            state = self._initial_state(emissions, start, end)  # shape: [2B, 1, L]
            pointers = []
            for step in self._potentials(emissions, mask, trans):
                scores = state.expand([2 * batch_size, num_labels, num_labels]) + step  # shape: [2B, L, L]
                pointers.append(scores.argmax(axis=2))  # shape: [2B, L]
                state = scores.max(axis=2).unsqueeze(1)  # shape: [2B, 1, L]
            total = state[:batch_size, 0] + state[batch_size:, 0]  # shape: [B, L], best through tag j at m
            best_scores = total.max(axis=1)  # shape: [B]
            # Backtracking is T tiny gathers: numpy does one in ~1 us, a Paddle op costs ~4 us.
            tag = total.argmax(axis=1).numpy()  # shape: [B]
            paths = np.zeros([batch_size, seq_len], dtype=np.int64)
            paths[:, middle] = tag
            if pointers:
                # pointers[k, b, j] (b < B): best tag at k given tag j at k + 1; pointers[k, B + b, i]:
                # best tag at u_k given tag i at u_k - 1 (see _potentials). Identity at padded steps.
                pointers = paddle.stack(pointers).numpy()  # shape: [m, 2B, L]
                rows = np.arange(batch_size)
                left = right = tag
                for t in range(middle, 0, -1):
                    left = pointers[t - 1, rows, left]  # shape: [B]
                    paths[:, t - 1] = left
                even = 1 - seq_len % 2
                for t in range(middle, seq_len - 1):
                    k = seq_len - 2 - t + even  # the backward step with u_k - 1 = t
                    right = pointers[k, rows + batch_size, right]  # shape: [B]
                    paths[:, t + 1] = right
            paths *= mask.numpy()  # 0 at padded steps
        return best_scores, paddle.to_tensor(paths, place=emissions.place)

    def bos_eos_transitions(self):
        """The decoding scores as the one matrix ``paddle.text.viterbi_decode(potentials,
        matrix, lengths, include_bos_eos_tag=True)`` reads; that op converts to a static graph.

        The op decodes over K = L + 2 tags: row ``L`` (its EOS tag) holds the end score of each
        tag, row ``L + 1`` (BOS) the start score, and ``potentials`` are the emissions with two
        more columns (any finite value, e.g. 0). Entering tag ``L`` or ``L + 1`` costs
        ``_UNREACHABLE``, so no path goes through them. Constraints are added as in
        :meth:`viterbi_decode` (``DECODE_PENALTY``). The op runs the plain left-to-right
        recursion, while :meth:`viterbi_decode` sweeps from both ends, so the two round their
        float32 sums differently and may break an exact or near-exact tie between two paths
        differently; otherwise they give the same paths (``tests/models/test_seq_export.py``).

        Returns:
            Tensor: float32 ``[L + 2, L + 2]``: ``[:L, :L]`` transitions, ``[L, :L]`` end scores,
            ``[L + 1, :L]`` start scores, ``[:, L:]`` ``_UNREACHABLE``.
        """
        trans, start, end = self._params(paddle.float32, DECODE_PENALTY if self.constrained else None)
        rows = paddle.concat([trans, end.unsqueeze(0), start.unsqueeze(0)])  # shape: [L + 2, L]
        unreachable = paddle.full([self.num_labels + 2, 2], _UNREACHABLE, dtype="float32")  # shape: [L + 2, 2]
        return paddle.concat([rows, unreachable], axis=1)  # shape: [L + 2, L + 2]

    # ------------------------------------------------------------------ math

    def _training_penalty(self):
        return NEG_PENALTY if self.constrained and self.constrain_training else None

    def _params(self, dtype, penalty):
        """Transitions ``[L, L]``, start ``[L]`` and end ``[L]`` scores in ``dtype``, with
        ``penalty`` added to the forbidden ones (none if ``penalty`` is None)."""
        params = [self.transitions, self.start_transitions, self.end_transitions]
        # cast each (they are float16 after AMP O2 casts the model's weights)
        params = [p if p.dtype == dtype else p.astype(dtype) for p in params]
        if penalty is not None:
            allowed = (self.allowed, self.allowed_start, self.allowed_end)
            params = [p + (~a).astype(dtype) * penalty for p, a in zip(params, allowed)]
        return params

    @staticmethod
    def _initial_state(emissions, start, end):
        """Returns: float ``[2B, 1, L]``: alpha_0 = start + emissions[:, 0] (rows ``:B``) and
        the backward sweep's start, the end scores (rows ``B:``)."""
        batch_size, _, num_labels = emissions.shape
        return paddle.concat([start + emissions[:, 0], end.expand([batch_size, num_labels])]).unsqueeze(1)

    @staticmethod
    def _potentials(emissions, mask, trans):
        """Per-step potentials of the two half sweeps, stacked along the batch axis.

        With m = T // 2, sweep step k (k = 0 .. m - 1) moves the forward half from t = k to
        k + 1 and the backward half from t = u_k to u_k - 1, where u_k = T - 1 - k, plus 1 if T
        is even (then u_0 = T is an extra carry step, so that both halves take m steps and meet
        at m). Real steps get ``emissions[t, j] + trans[i, j]``, padded steps the carry
        potential (0 if i == j else ``_NO_CARRY``).

        Args:
            emissions (Tensor): float ``[B, T, L]``. mask (Tensor): bool ``[B, T]``.
            trans (Tensor): float ``[L, L]``, same dtype as ``emissions``.

        Returns:
            list[Tensor]: ``m`` tensors ``[2B, L, L]``, rows ``:B`` indexed ``[b, next j, prev i]``
            and rows ``B:`` indexed ``[b, earlier i, later j]``: the sweeps reduce the last axis.
        """
        batch_size, seq_len, num_labels = emissions.shape
        middle, dtype, flat = seq_len // 2, emissions.dtype, num_labels * num_labels
        if middle == 0:
            return []
        zeros = paddle.zeros_like(emissions)
        emissions = paddle.where(mask.unsqueeze(2).expand_as(emissions), emissions, zeros)  # shape: [B, T, L]
        # per-step features: emissions (0 at padded steps), then one-hot (padded, real); step T: carry
        kind = F.one_hot(mask.astype("int64"), 2).astype(dtype)  # shape: [B, T, 2]
        carry_step = F.one_hot(paddle.full([batch_size, 1], num_labels, dtype="int64"), num_labels + 2)
        features = paddle.concat([paddle.concat([emissions, kind], axis=2), carry_step.astype(dtype)], axis=1)
        order = np.stack([np.arange(1, middle + 1), np.arange(seq_len - seq_len % 2, middle, -1)], axis=1)
        order = paddle.to_tensor(order.reshape([-1]), place=emissions.place)  # k + 1, u_k for k = 0 .. m - 1
        features = paddle.index_select(features, order, axis=1)  # shape: [B, 2m, L + 2], sweep order
        features = features.transpose([1, 0, 2]).reshape([middle, 2, batch_size, num_labels + 2])
        eye = paddle.eye(num_labels, dtype=dtype)  # shape: [L, L]
        carry = ((1 - eye) * _NO_CARRY).reshape([1, flat])  # shape: [1, L * L], symmetric
        weights = paddle.stack([  # shape: [2, L + 2, L * L], one block per half, rows as the features
            # row k < L puts emissions[t, k] where the later tag is k: (j, i) = (k, *) / (i, j) = (*, k)
            paddle.concat([eye.repeat_interleave(num_labels, axis=1), carry, trans.t().reshape([1, flat])]),
            paddle.concat([eye.tile([1, num_labels]), carry, trans.reshape([1, flat])]),
        ])
        # One matmul (each big output costs fresh pages); explicit expand: Paddle 3.3's matmul
        # backward fails on broadcast batch dimensions.
        weights = weights.expand([middle, 2, num_labels + 2, flat])
        potentials = paddle.matmul(features, weights)  # shape: [m, 2, B, L * L]
        return potentials.reshape([middle, 2 * batch_size, num_labels, num_labels]).unbind(0)

    def _log_partition(self, emissions, mask, trans, start, end):
        """Forward algorithm from both ends, meeting at m = T // 2:
        log Z = logsumexp_j(alpha_m[j] + beta_m[j]). Returns: float ``[B]``."""
        batch_size, _, num_labels = emissions.shape
        state = self._initial_state(emissions, start, end)  # shape: [2B, 1, L]
        for step in self._potentials(emissions, mask, trans):
            scores = state.expand([2 * batch_size, num_labels, num_labels]) + step  # shape: [2B, L, L]
            state = paddle.logsumexp(scores, axis=2).unsqueeze(1)  # shape: [2B, 1, L]
        return paddle.logsumexp(state[:batch_size, 0] + state[batch_size:, 0], axis=1)  # shape: [B]

    @staticmethod
    def _score(emissions, tags, mask, trans, start, end):
        """Gold path score over the real steps. Returns: float ``[B]``."""
        zeros = paddle.zeros_like(emissions[:, :, 0])  # shape: [B, T]
        emitted = paddle.take_along_axis(emissions, tags.unsqueeze(2), axis=2).squeeze(2)  # shape: [B, T]
        total = paddle.where(mask, emitted, zeros).sum(axis=1)  # shape: [B]
        total = total + paddle.gather(start, tags[:, 0])  # shape: [B]
        last = mask.astype("int64").sum(axis=1, keepdim=True) - 1  # shape: [B, 1]
        total = total + paddle.gather(end, paddle.take_along_axis(tags, last, axis=1).squeeze(1))  # shape: [B]
        if tags.shape[1] > 1:
            pairs = tags[:, :-1] * trans.shape[0] + tags[:, 1:]  # shape: [B, T - 1], flat index of (y_t-1, y_t)
            moved = paddle.gather(trans.flatten(), pairs.flatten()).reshape(pairs.shape)  # shape: [B, T - 1]
            total = total + paddle.where(mask[:, 1:], moved, zeros[:, 1:]).sum(axis=1)  # shape: [B]
        return total

    # ------------------------------------------------------------------ input checks

    def _validate(self, emissions, tags=None, mask=None, lengths=None):
        """Check shapes, dtypes and the mask layout (on the host, with numpy).

        Returns:
            tuple: ``(emissions, tags, mask)``: float32/float64 ``[B, T, L]``; int64 ``[B, T]``
            with padded steps set to 0 (None if ``tags`` is None); bool ``[B, T]``.
        """
        name, shape = "LinearChainCRF", list(emissions.shape)
        if len(shape) != 3 or shape[2] != self.num_labels:
            raise ValueError(f"{name}: expected emissions of shape [batch_size, seq_len, {self.num_labels}], "
                             f"got {shape}")
        if emissions.dtype not in (paddle.float16, paddle.bfloat16, paddle.float32, paddle.float64):
            raise ValueError(f"{name}: expected floating-point emissions, got {emissions.dtype}")
        batch_size, seq_len = shape[0], shape[1]
        if batch_size < 1 or seq_len < 1:
            raise ValueError(f"{name}: expected batch_size >= 1 and seq_len >= 1, "
                             f"got emissions of shape {shape}")
        if emissions.dtype not in (paddle.float32, paddle.float64):
            emissions = emissions.astype("float32")
        if mask is not None and lengths is not None:
            raise ValueError(f"{name}: expected mask or lengths, got both")
        if lengths is not None:
            if list(lengths.shape) != [batch_size] or not _is_int(lengths):
                raise ValueError(f"{name}: expected int lengths of shape [{batch_size}], "
                                 f"got {lengths.dtype} {list(lengths.shape)}")
            host_lengths = lengths.numpy()
            low, high = int(host_lengths.min()), int(host_lengths.max())
            if low < 1 or high > seq_len:
                raise ValueError(f"{name}: expected lengths in [1, {seq_len}], got values in [{low}, {high}]")
            host_mask = np.arange(seq_len)[None, :] < host_lengths[:, None]
            mask = paddle.to_tensor(host_mask, place=emissions.place)
        elif mask is not None:
            host_mask = self._check_mask(mask, batch_size, seq_len)
            mask = mask if mask.dtype == paddle.bool else mask.astype("bool")
        else:
            host_mask = np.ones([batch_size, seq_len], dtype=bool)
            mask = paddle.to_tensor(host_mask, place=emissions.place)
        if tags is not None:
            if list(tags.shape) != [batch_size, seq_len] or not _is_int(tags):
                raise ValueError(f"{name}: expected int tags of shape [{batch_size}, {seq_len}], "
                                 f"got {tags.dtype} {list(tags.shape)}")
            real_tags = tags.numpy()[host_mask]
            low, high = int(real_tags.min()), int(real_tags.max())
            if low < 0 or high >= self.num_labels:
                raise ValueError(f"{name}: expected tags in [0, {self.num_labels}) at real steps, "
                                 f"got values in [{low}, {high}]")
            tags = paddle.where(mask, tags.astype("int64"), paddle.zeros([batch_size, seq_len], dtype="int64"))
        return emissions, tags, mask

    @staticmethod
    def _check_mask(mask, batch_size, seq_len):
        """Returns: numpy bool ``[B, T]``."""
        name = "LinearChainCRF"
        if list(mask.shape) != [batch_size, seq_len]:
            raise ValueError(f"{name}: expected mask of shape [{batch_size}, {seq_len}], "
                             f"got {list(mask.shape)}")
        host = mask.numpy()
        if host.dtype != np.bool_:
            if not np.isin(host, (0, 1)).all():
                raise ValueError(f"{name}: expected mask values in {{0, 1}}, got other values")
            host = host != 0
        if not host[:, 0].all():
            row = int(np.argmin(host[:, 0]))
            raise ValueError(f"{name}: expected the first step to be real (mask[:, 0] == 1), "
                             f"got 0 in row {row}")
        gaps = host[:, 1:] & ~host[:, :-1]  # shape: [B, T - 1], a 1 right after a 0
        if gaps.any():
            row = int(np.argmax(gaps.any(axis=1)))
            raise ValueError(f"{name}: expected a left-aligned mask (a prefix of ones), "
                             f"got a 0 before a 1 in row {row}")
        return host


def _is_int(tensor):
    return tensor.dtype in (paddle.int8, paddle.int16, paddle.int32, paddle.int64, paddle.uint8)
