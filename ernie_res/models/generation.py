"""Decoding from a ``TextVAE``: sampling (temperature, top-k, top-p), greedy, beam search.

The loops run in NumPy, outside any graph, over a one-step decoder (``StepDecoder``) that runs
the model's ``decoder_step`` program (``TextVAE.export_programs``) through a runner:
``engine.runners.EagerRunner`` (the dynamic graph), ``engine.runners.InferenceRunner`` (Paddle
Inference) or ``LayerRunner`` below (the dynamic graph, for callers that may not import the
engine). So one loop decodes a trained model directory and an exported one, and greedy and
beam decodes of the two agree token for token.

Random draws (sampled tokens) come from a NumPy ``Generator`` the caller seeds; greedy decoding
and beam search draw nothing. Every loop takes latent codes ``z [N, Z]`` float32 (None for the
LM baseline) and returns word-piece id lists without the start and end tokens.

Nucleus (top-p) sampling: A. Holtzman, J. Buys, L. Du, M. Forbes, Y. Choi, "The Curious Case
of Neural Text Degeneration", ICLR 2020.
"""
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import paddle

#: hypotheses kept per latent code by beam search, unless asked otherwise
BEAM_SIZE = 4


# ------------------------------------------------------------------------------ the step interface
class LayerRunner:
    """A model's programs (``export_programs()``) run in the dynamic graph, eval mode, no grad.

    What ``engine.runners.EagerRunner`` does, for code that may not import the engine
    (``tasks/``: the samples drawn at each evaluation during training). ``batch`` must hold
    arrays of the programs' dtypes already.
    """

    def __init__(self, model):
        self.programs = model.export_programs()
        model.eval()

    def inputs(self, program):
        return self.programs[program].inputs

    def run(self, program, batch):
        spec = self.programs[program]
        with paddle.no_grad():
            out = spec.layer(*[paddle.to_tensor(batch[name]) for name, _, _ in spec.inputs])
        out = out if isinstance(out, (tuple, list)) else (out,)
        return {name: t.numpy() for name, t in zip(spec.outputs, out)}


#: ``decoder_step`` inputs that are not the decoder's state
_STEP_INPUTS = ("token", "first", "z")


@dataclass
class DecodeState:
    """The rows being decoded: the decoder's state tensors ``{name: array}`` (batch on axis
    1: the GRU's ``state``, the Transformer's ``keys`` and ``values``), ``z [N, Z]`` float32
    (None for the LM) and the number of tokens read so far."""
    tensors: dict
    z: object
    steps: int = 0


class StepDecoder:
    """The one-step decoder the loops talk to, over a runner's ``decoder_step`` program.

    * ``start(z, n) -> state``: ``n`` rows before any token (``z [n, Z]`` or None);
    * ``step(tokens, state) -> (logits, state)``: every row reads one token (``[N]`` int64,
      ``[CLS]`` first); ``logits [N, V]`` float32 NumPy score the next one;
    * ``reorder(state, rows) -> state``: the rows ``rows`` (int indices; repeats allowed), for
      beam search.

    A runner is anything with ``inputs(program) -> ((name, shape, dtype), ...)`` and
    ``run(program, batch) -> {output: array}`` that takes the inputs it needs from ``batch`` by
    name (``engine/runners.py``). ``decoder_step`` reads ``token [N]``, optionally ``z`` and
    ``first [1]`` (1 on the first step) and its state tensors: every other input, which it
    also returns under the same name. A state tensor has its batch on axis 1 and starts as
    zeros, any other dynamic axis (a cache's length) at 0 (``TextVAE.export_programs``).

    Args:
        runner: runs ``decoder_step``.
        bos_id (int): the start token (``[CLS]``).
        eos_id (int): the end token (``[SEP]``).
    """

    def __init__(self, runner, bos_id, eos_id):
        self.runner = runner
        self.bos_id, self.eos_id = int(bos_id), int(eos_id)
        self.state_shapes = {name: list(shape) for name, shape, _ in
                             runner.inputs("decoder_step") if name not in _STEP_INPUTS}

    def start(self, z, n):
        z = None if z is None else np.ascontiguousarray(z, dtype=np.float32)
        tensors = {}
        for name, shape in self.state_shapes.items():
            dims = [0 if d is None else d for d in shape]
            dims[1] = n
            tensors[name] = np.zeros(dims, np.float32)
        return DecodeState(tensors, z)

    def step(self, tokens, state):
        batch = {"token": np.asarray(tokens, dtype=np.int64),
                 "first": np.array([int(state.steps == 0)], np.int64), **state.tensors}
        if state.z is not None:
            batch["z"] = state.z
        out = self.runner.run("decoder_step", batch)
        return out["logits"], DecodeState({name: out[name] for name in state.tensors}, state.z,
                                          state.steps + 1)

    def reorder(self, state, rows):
        rows = np.asarray(rows, dtype=np.int64)
        return DecodeState({name: t[:, rows] for name, t in state.tensors.items()},
                           None if state.z is None else state.z[rows], state.steps)


# ------------------------------------------------------------------------------ NumPy pieces
def _log_softmax(logits):
    x = logits - logits.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def filter_logits(logits, top_k=0, top_p=1.0):
    """``logits [N, V]`` with the entries outside the top ``k`` and outside the nucleus of mass
    ``top_p`` set to ``-inf`` (``0`` and ``1.0`` switch a filter off); the most likely token
    always stays."""
    logits = np.array(logits, dtype=np.float32)
    v = logits.shape[-1]
    if top_k > 0:
        kth = np.partition(logits, v - min(top_k, v), axis=-1)[:, v - min(top_k, v)][:, None]
        logits[logits < kth] = -np.inf
    if 0.0 < top_p < 1.0:
        order = np.argsort(-logits, axis=-1, kind="stable")                # shape: [N, V]
        probs = np.exp(_log_softmax(np.take_along_axis(logits, order, axis=-1)))
        drop_sorted = (np.cumsum(probs, axis=-1) - probs) > top_p          # mass before it
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=-1)
        logits[drop] = -np.inf
    return logits


def draw(logits, rng):
    """One token per row from ``softmax(logits [N, V])`` (``-inf``: never), by inverting the
    cumulative distribution at one ``rng.random()`` per row. Returns ``[N]`` int64."""
    x = logits.astype(np.float64)
    cum = np.cumsum(np.exp(x - x.max(-1, keepdims=True)), axis=-1)          # shape: [N, V]
    u = rng.random(len(cum))[:, None] * cum[:, -1:]                        # shape: [N, 1]
    return np.minimum((cum <= u).sum(-1), cum.shape[-1] - 1).astype(np.int64)


def _strip(row, eos):
    row = [int(t) for t in row]
    return row[:row.index(eos)] if eos in row else row


# ------------------------------------------------------------------------------ the loops
def sample(decoder, z, num, max_len, rng=None, temperature=1.0, top_k=0, top_p=1.0,
           greedy=False):
    """Ancestral sampling (or greedy decoding) of ``num`` sequences, all rows at once, until
    every row has ended or ``max_len`` tokens are out. Sampling needs ``rng`` (a NumPy
    ``Generator``): each step draws one uniform per row."""
    if not greedy and rng is None:
        raise ValueError("sample: expected a NumPy Generator (rng) to draw tokens with, "
                         "got None")
    state = decoder.start(z, num)
    tokens = np.full(num, decoder.bos_id, np.int64)
    out, done = [], np.zeros(num, dtype=bool)
    for _ in range(max_len):
        logits, state = decoder.step(tokens, state)                       # shape: [N, V]
        if greedy:
            tokens = logits.argmax(-1).astype(np.int64)
        else:
            tokens = draw(filter_logits(logits / max(temperature, 1e-6), top_k, top_p), rng)
        out.append(tokens)
        done |= tokens == decoder.eos_id
        if done.all():
            break
    ids = np.stack(out, axis=1) if out else np.zeros((num, 0), np.int64)
    return [_strip(row, decoder.eos_id) for row in ids]


_Hyp = namedtuple("_Hyp", "ids logp ended row")     # row: its row in the decoder state


def beam_search(decoder, z, beam_size, max_len):
    """Beam search for every latent code at once (one code for the LM, ``z`` None): per code,
    the best of ``beam_size`` hypotheses by mean log-probability per token (``[CLS]``
    counted). Each step expands every live hypothesis by its ``beam_size`` best tokens; ended
    hypotheses compete with the new ones unchanged."""
    n = 1 if z is None else len(z)
    state = decoder.start(z, n)
    beams = [[_Hyp([decoder.bos_id], 0.0, False, i)] for i in range(n)]
    tokens = np.full(n, decoder.bos_id, np.int64)
    for _ in range(max_len):
        logits, state = decoder.step(tokens, state)                       # [live rows, V]
        logp = _log_softmax(logits)
        for i, code in enumerate(beams):
            cand = [h for h in code if h.ended]
            for h in (h for h in code if not h.ended):
                row = logp[h.row]
                for tok in np.argsort(-row)[:beam_size]:
                    cand.append(_Hyp(h.ids + [int(tok)], h.logp + float(row[tok]),
                                     int(tok) == decoder.eos_id, h.row))
            beams[i] = sorted(cand, key=lambda h: h.logp / len(h.ids), reverse=True)[:beam_size]
        parents = []
        for code in beams:                   # number the live hypotheses' rows afresh
            for k, h in enumerate(code):
                if not h.ended:
                    parents.append(h.row)
                    code[k] = h._replace(row=len(parents) - 1)
        if not parents:
            break
        state = decoder.reorder(state, parents)
        tokens = np.array([h.ids[-1] for code in beams for h in code if not h.ended], np.int64)
    return [_strip(code[0].ids[1:], decoder.eos_id) for code in beams]


def decode_latents(decoder, z, num, max_len, decoding="sample", rng=None, temperature=1.0,
                   top_k=0, top_p=1.0, beam_size=BEAM_SIZE):
    """``num`` sequences from ``z`` (sample, greedy) or one per code (beam; one for the LM)."""
    if decoding == "beam":
        return beam_search(decoder, z, beam_size, max_len)
    return sample(decoder, z, num, max_len, rng, temperature, top_k, top_p,
                  greedy=decoding == "greedy")
