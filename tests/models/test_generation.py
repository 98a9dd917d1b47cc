"""The decoding loops of models/generation.py on a hand-made decoder (a first-order Markov chain
over 5 tokens, shifted by z): beam search against brute-force enumeration, greedy, the
sampling filters and draws against their distributions, and the step interface's state
handling. tests/models/test_gen_export.py runs the loops on real (eager and exported)
programs."""
import itertools

import numpy as np
import pytest

from ernie_res.models.generation import (StepDecoder, beam_search, decode_latents, draw,
                                         filter_logits, sample)

V, BOS, EOS = 5, 0, 4


def table(seed=0, scale=2.0):
    """Logits ``[V, V]`` of the next token given the last one (flatter for a smaller
    ``scale``)."""
    return np.random.RandomState(seed).randn(V, V).astype(np.float32) * scale


#: with a cache, each token read before adds this to its own logit at every later step
REPEAT = -0.8


class ChainRunner:
    """A runner whose ``decoder_step`` scores the next token by the one read (``table``), plus
    ``z[:, 0] * shift`` with a latent. ``state="cache"``: also ``REPEAT`` times how often each
    token has been read, from a history kept in a growing ``keys [1, B, 1, t, 1]`` cache as the
    Transformer keeps its keys; ``state="gru"``: a ``[1, B, 3]`` state counting the tokens read,
    started where ``first`` is 1."""

    def __init__(self, logits, latent=False, state=None):
        self.logits, self.latent, self.state = logits, latent, state
        self.shift = np.linspace(-1, 1, V).astype(np.float32)
        self.batches = []

    def inputs(self, program):
        assert program == "decoder_step"
        inputs = [("token", [None], "int64")]
        if self.state == "gru":
            inputs += [("state", [1, None, 3], "float32"), ("first", [1], "int64")]
        elif self.state == "cache":
            inputs += [("keys", [1, None, 1, None, 1], "float32")]
        return inputs + ([("z", [None, 2], "float32")] if self.latent else [])

    def run(self, program, batch):
        names = [name for name, _, _ in self.inputs(program)]
        self.batches.append({k: np.array(batch[k]) for k in names})
        token = batch["token"]
        out = {"logits": self.logits[token]}
        if self.latent:
            out["logits"] = out["logits"] + batch["z"][:, :1] * self.shift
        if self.state == "gru":
            state = np.zeros_like(batch["state"]) if batch["first"][0] else batch["state"]
            out["state"] = state + 1
        if self.state == "cache":
            keys = np.concatenate([batch["keys"], token[None, :, None, None, None]], axis=3)
            counts = [np.bincount(row.astype(int), minlength=V) for row in keys[0, :, 0, :, 0]]
            out["logits"] = out["logits"] + REPEAT * np.array(counts, np.float32)
            out["keys"] = keys.astype(np.float32)
        return out


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def best_by_enumeration(logits, max_len, repeat=0.0):
    """The sequence beam search ranks first when it keeps every hypothesis: the best mean
    log-probability per token, ``[CLS]`` counted, over the sequences that end with ``[SEP]``
    or reach ``max_len``; ``repeat``: the cache runner's bonus for tokens read before."""
    best = (-np.inf, None)
    for n in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=n):
            if EOS in seq[:-1] or (seq[-1] != EOS and n < max_len):
                continue
            read, score = (BOS,) + seq, 0.0
            for j, tok in enumerate(seq):
                step = logits[read[j]] + repeat * np.bincount(read[:j + 1], minlength=V)
                score += log_softmax(step)[tok]
            best = max(best, (score / (n + 1), list(seq)))
    seq = best[1]
    return seq[:-1] if seq[-1] == EOS else seq


@pytest.mark.parametrize("seed", range(6))
def test_beam_search_keeping_everything_finds_the_best_sequence(seed):
    """A flat chain, where the best mean and the best sum (a bare [SEP]) mostly differ."""
    logits = table(seed, scale=0.7)
    decoder = StepDecoder(ChainRunner(logits), BOS, EOS)
    assert beam_search(decoder, None, V ** 4, 4) == [best_by_enumeration(logits, 4)]


def test_beam_search_carries_each_hypothesis_its_own_cache():
    """With the history in the decoder's cache, a hypothesis scored with another's history
    (rows reordered wrongly) would change the ranking."""
    changed = 0
    for seed in range(6):
        logits = table(seed, scale=0.7)
        decoder = StepDecoder(ChainRunner(logits, state="cache"), BOS, EOS)
        want = best_by_enumeration(logits, 4, repeat=REPEAT)
        assert beam_search(decoder, None, V ** 4, 4) == [want], seed
        changed += want != best_by_enumeration(logits, 4)
    assert changed >= 2                                    # the history matters


@pytest.mark.parametrize("state", [None, "gru", "cache"])
def test_beam_search_of_several_codes_at_once_equals_one_at_a_time(state):
    """Rows of different latent codes never mix, however many hypotheses each keeps alive."""
    z = np.random.RandomState(1).randn(6, 2).astype(np.float32) * 3
    decoder = StepDecoder(ChainRunner(table(2), latent=True, state=state), BOS, EOS)
    together = beam_search(decoder, z, 3, 6)
    alone = [beam_search(decoder, z[i:i + 1], 3, 6)[0] for i in range(6)]
    assert together == alone and len(set(map(tuple, together))) > 1


def test_beam_of_one_is_greedy():
    for seed in range(5):
        decoder = StepDecoder(ChainRunner(table(seed)), BOS, EOS)
        assert beam_search(decoder, None, 1, 7) == sample(decoder, None, 1, 7, greedy=True)


def test_greedy_follows_the_chain_and_stops_at_the_end_token():
    logits = np.full((V, V), -5.0, np.float32)
    for a, b in ((BOS, 2), (2, 1), (1, 3), (3, EOS)):
        logits[a, b] = 5.0
    runner = ChainRunner(logits)
    out = sample(StepDecoder(runner, BOS, EOS), None, 2, 10, greedy=True)
    assert out == [[2, 1, 3]] * 2 and len(runner.batches) == 4          # ended: no 5th step
    assert sample(StepDecoder(runner, BOS, EOS), None, 1, 2, greedy=True) == [[2, 1]]  # cut
    assert decode_latents(StepDecoder(runner, BOS, EOS), None, 3, 0, "greedy") == [[]] * 3


def test_filters_keep_the_top_k_and_the_nucleus():
    logits = np.log(np.array([[0.5, 0.05, 0.3, 0.15], [0.25, 0.25, 0.4, 0.1]], np.float32))
    kept = np.isfinite(filter_logits(logits, top_k=2))
    assert kept.tolist() == [[True, False, True, False], [True, True, True, False]]   # a tie
    nucleus = np.isfinite(filter_logits(logits, top_p=0.7))      # the fewest tokens with >= .7
    assert nucleus.tolist() == [[True, False, True, False], [True, True, True, False]]
    assert np.isfinite(filter_logits(logits, top_p=0.3)).sum(-1).tolist() == [1, 1]
    assert np.isfinite(filter_logits(logits, top_p=0.01)).sum(-1).tolist() == [1, 1]  # the top
    both = np.isfinite(filter_logits(logits, top_k=1, top_p=0.99))
    assert both.sum(-1).tolist() == [1, 1]
    np.testing.assert_array_equal(filter_logits(logits, 0, 1.0), logits)   # both off
    assert np.isfinite(filter_logits(logits, top_k=10)).all()


def test_draws_follow_the_distribution_and_the_seed():
    probs = np.array([0.5, 0.0, 0.3, 0.2], np.float32)
    logits = np.tile(np.log(np.maximum(probs, 1e-30)), (40000, 1))
    logits[:, 1] = -np.inf
    got = draw(logits, np.random.default_rng(0))
    freq = np.bincount(got, minlength=4) / len(got)
    np.testing.assert_allclose(freq, probs, atol=0.01)
    assert (got != 1).all()
    np.testing.assert_array_equal(draw(logits[:50], np.random.default_rng(3)),
                                  draw(logits[:50], np.random.default_rng(3)))


def test_sampling_with_temperature_and_top_k():
    logits = table(4)
    decoder = StepDecoder(ChainRunner(logits), BOS, EOS)
    first = [s[0] for s in sample(decoder, None, 20000, 1, np.random.default_rng(0),
                                  temperature=0.5, top_k=3) if s]
    p = np.exp(log_softmax(logits[BOS] / 0.5))
    top = np.argsort(-p)[:3]
    want = np.zeros(V)
    want[top] = p[top] / p[top].sum()
    freq = np.bincount(first, minlength=V) / 20000       # EOS drawn first: an empty sentence
    want[EOS] = 0
    np.testing.assert_allclose(freq, want, atol=0.015)


def test_sampling_is_reproducible_from_the_generator():
    decoder = StepDecoder(ChainRunner(table(5), latent=True), BOS, EOS)
    z = np.random.RandomState(0).randn(8, 2).astype(np.float32)
    a = sample(decoder, z, 8, 6, np.random.default_rng(11))
    assert a == sample(decoder, z, 8, 6, np.random.default_rng(11))
    assert a != sample(decoder, z, 8, 6, np.random.default_rng(12))
    with pytest.raises(ValueError, match="sample: expected a NumPy Generator"):
        sample(decoder, z, 8, 6)


def test_the_step_interface_feeds_the_program_what_it_declares():
    runner = ChainRunner(table(), latent=True, state="gru")
    decoder = StepDecoder(runner, BOS, EOS)
    z = np.arange(6, dtype=np.float32).reshape(3, 2)
    state = decoder.start(z, 3)
    assert list(state.tensors) == ["state"] and state.tensors["state"].shape == (1, 3, 3)
    assert not state.tensors["state"].any()
    logits, state = decoder.step(np.array([BOS] * 3), state)
    assert logits.shape == (3, V)
    logits, state = decoder.step(np.array([1, 2, 3]), state)
    first, second = runner.batches
    assert set(first) == {"token", "state", "first", "z"}
    assert first["first"].tolist() == [1] and second["first"].tolist() == [0]
    assert (state.tensors["state"] == 2).all() and state.steps == 2        # two tokens read
    state.tensors["state"][0, :, 0] = [10, 11, 12]
    state = decoder.reorder(state, [2, 2, 0])
    assert state.tensors["state"][0, :, 0].tolist() == [12, 12, 10]
    assert state.z[:, 0].tolist() == [4.0, 4.0, 0.0]
    decoder.step(np.array([1, 1, 1]), state)
    np.testing.assert_array_equal(runner.batches[-1]["z"], z[[2, 2, 0]])
    assert runner.batches[-1]["first"].tolist() == [0]                  # still not the first


def test_a_cache_starts_empty_and_grows():
    runner = ChainRunner(table(), state="cache")
    decoder = StepDecoder(runner, BOS, EOS)
    state = decoder.start(None, 2)
    assert state.z is None and state.tensors["keys"].shape == (1, 2, 1, 0, 1)
    _, state = decoder.step(np.array([BOS, BOS]), state)
    _, state = decoder.step(np.array([3, 2]), state)
    assert [set(b) for b in runner.batches] == [{"token", "keys"}] * 2
    assert state.tensors["keys"][0, :, 0, :, 0].tolist() == [[BOS, 3], [BOS, 2]]
    state = decoder.reorder(state, [1, 1, 0])
    assert state.tensors["keys"][0, :, 0, :, 0].tolist() == [[BOS, 2], [BOS, 2], [BOS, 3]]
