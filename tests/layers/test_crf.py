"""Tests for ernie_res.layers.crf against exact answers: brute-force enumeration of all L^T tag
paths, hand sums and central finite differences (float64, T <= 4, L <= 5)."""

import itertools
import re

import numpy as np
import paddle
import pytest

from ernie_res.layers.crf import DECODE_PENALTY, NEG_PENALTY, LinearChainCRF, allowed_transitions

IOB2_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
BIOES_LABELS = ["O", "B-X", "I-X", "E-X", "S-X"]


# ----------------------------------------------------------------------------- helpers


def make_crf(num_labels, rng, **kwargs):
    """A CRF with parameters uniform in [-5, 5] and their exact float64 values."""
    crf = LinearChainCRF(num_labels, **kwargs)
    params = (crf.transitions, crf.start_transitions, crf.end_transitions)
    for param in params:
        param.set_value(rng.uniform(-5, 5, param.shape).astype("float32"))
    return crf, [param.numpy().astype(np.float64) for param in params]


def all_paths(num_labels, length):
    return np.array(list(itertools.product(range(num_labels), repeat=length)), dtype=np.int64)  # [L^n, n]


def path_scores(emissions, paths, trans, start, end):
    """Scores of the given paths for one sequence. emissions [n, L], paths [P, n] -> [P]."""
    n = paths.shape[1]
    total = start[paths[:, 0]] + end[paths[:, -1]] + emissions[np.arange(n)[None, :], paths].sum(axis=1)
    return total + trans[paths[:, :-1], paths[:, 1:]].sum(axis=1)


def brute_force(emissions, length, params, keep=None):
    """(log Z, best score, best path) of emissions[:length] by enumeration; `keep` filters paths."""
    paths = all_paths(emissions.shape[1], length)
    if keep is not None:
        paths = paths[[keep(path) for path in paths]]
    scores = path_scores(emissions[:length], paths, *params)
    top = scores.max()
    return top + np.log(np.exp(scores - top).sum()), top, paths[scores.argmax()]


def is_valid(tags, labels, scheme):
    """Chunk-scheme checker written as a left-to-right state machine (independent of the layer)."""
    inside = None  # entity type of an open chunk (after B-X or I-X), else None
    for index in tags:
        label = labels[index]
        prefix, kind = ("O", None) if label == "O" else label.split("-", 1)
        if scheme == "IOB2":
            if prefix == "I" and inside != kind:
                return False
            inside = kind if prefix in ("B", "I") else None
        else:
            if inside is not None and not (prefix in ("I", "E") and kind == inside):
                return False
            if inside is None and prefix not in ("O", "B", "S"):
                return False
            inside = kind if prefix in ("B", "I") else None
    return scheme == "IOB2" or inside is None


def tensors(*arrays):
    return [paddle.to_tensor(array) for array in arrays]


# ----------------------------------------------------------------------------- allowed_transitions


# ----------------------------------------------------------------------------- exact answers


@pytest.mark.parametrize("seed, seq_len, num_labels", [(0, 1, 5), (1, 2, 4), (2, 3, 5), (3, 4, 3), (4, 4, 5)])
def test_log_partition_and_viterbi_match_brute_force(seed, seq_len, num_labels):
    rng = np.random.default_rng(seed)
    crf, params = make_crf(num_labels, rng)
    emissions = rng.normal(0, 3, [4, seq_len, num_labels])
    lengths = rng.integers(1, seq_len + 1, [4])
    lengths[0] = seq_len
    log_z = crf.log_partition(*tensors(emissions), lengths=paddle.to_tensor(lengths)).numpy()
    best_scores, best_paths = crf.viterbi_decode(*tensors(emissions), lengths=paddle.to_tensor(lengths))
    assert best_paths.dtype == paddle.int64 and best_paths.shape == [4, seq_len]
    for b, n in enumerate(lengths):
        expected_log_z, expected_best, expected_path = brute_force(emissions[b], n, params)
        np.testing.assert_allclose(log_z[b], expected_log_z, rtol=1e-12)
        np.testing.assert_allclose(best_scores.numpy()[b], expected_best, rtol=1e-12)
        padded_path = np.concatenate([expected_path, np.zeros(seq_len - n, int)])
        np.testing.assert_array_equal(best_paths.numpy()[b], padded_path)


def test_mask_and_lengths_give_the_same_results():
    rng = np.random.default_rng(5)
    crf, _ = make_crf(4, rng)
    emissions, tags = rng.normal(size=[3, 4, 4]), rng.integers(0, 4, [3, 4])
    lengths = np.array([4, 2, 1])
    mask = (np.arange(4)[None, :] < lengths[:, None]).astype("int64")
    by_mask = crf.nll(*tensors(emissions, tags), mask=paddle.to_tensor(mask), reduction="none")
    by_lengths = crf.nll(*tensors(emissions, tags), lengths=paddle.to_tensor(lengths), reduction="none")
    np.testing.assert_array_equal(by_mask.numpy(), by_lengths.numpy())


def test_score_is_the_hand_sum_and_probabilities_sum_to_one():
    rng = np.random.default_rng(6)
    crf, (trans, start, end) = make_crf(3, rng)
    emissions = rng.normal(0, 3, [4, 3])
    paths = all_paths(3, 4)  # every path of one sequence, scored as one batch
    batch = np.broadcast_to(emissions, [len(paths), 4, 3]).copy()
    scores = crf.score(*tensors(batch, paths)).numpy()
    y = paths[7]
    hand = start[y[0]] + sum(emissions[t, y[t]] for t in range(4))
    hand += sum(trans[y[t - 1], y[t]] for t in (1, 2, 3)) + end[y[3]]
    np.testing.assert_allclose(scores[7], hand, rtol=1e-12)
    np.testing.assert_allclose(scores, path_scores(emissions, paths, trans, start, end), rtol=1e-12)
    log_z = crf.log_partition(*tensors(batch)).numpy()
    np.testing.assert_allclose(np.exp(scores - log_z).sum(), 1.0, rtol=1e-12)
    nll = crf.nll(*tensors(batch, paths), reduction="none").numpy()
    np.testing.assert_allclose(nll, log_z - scores, rtol=1e-12)


def test_padding_with_garbage_changes_nothing_and_batch_equals_per_example():
    rng = np.random.default_rng(7)
    crf, _ = make_crf(4, rng)
    lengths = [3, 1, 2]
    pieces = [rng.normal(0, 3, [n, 4]) for n in lengths]
    gold = [rng.integers(0, 4, [n]) for n in lengths]
    emissions = np.full([3, 4, 4], np.nan)  # garbage at padded steps: NaN, then huge values
    emissions[0, 3] = 1e30
    tags = np.full([3, 4], -100)  # an "ignore index" at padded steps
    for b, n in enumerate(lengths):
        emissions[b, :n], tags[b, :n] = pieces[b], gold[b]
    em = paddle.to_tensor(emissions, stop_gradient=False)
    nll = crf.nll(em, paddle.to_tensor(tags), lengths=paddle.to_tensor(lengths), reduction="none")
    nll.sum().backward()
    scores, paths = crf.viterbi_decode(em, lengths=paddle.to_tensor(lengths))
    grad = em.grad.numpy()
    for b, n in enumerate(lengths):
        alone = crf.nll(*tensors(pieces[b][None], gold[b][None]), reduction="none")
        alone_score, alone_path = crf.viterbi_decode(*tensors(pieces[b][None]))
        np.testing.assert_allclose(nll.numpy()[b], alone.numpy()[0], rtol=1e-12)
        np.testing.assert_allclose(scores.numpy()[b], alone_score.numpy()[0], rtol=1e-12)
        np.testing.assert_array_equal(paths.numpy()[b, :n], alone_path.numpy()[0])
        np.testing.assert_array_equal(paths.numpy()[b, n:], 0)
        np.testing.assert_array_equal(grad[b, n:], 0.0)
    assert np.isfinite(grad).all()


def central_difference(f, x, eps):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        grad[index] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def test_nll_gradient_wrt_emissions_matches_finite_differences():
    rng = np.random.default_rng(8)
    crf, _ = make_crf(3, rng)
    emissions, tags, lengths = rng.normal(size=[2, 4, 3]), rng.integers(0, 3, [2, 4]), paddle.to_tensor([4, 3])

    def nll(values):
        return float(crf.nll(*tensors(values, tags), lengths=lengths, reduction="sum"))

    em = paddle.to_tensor(emissions, stop_gradient=False)
    crf.nll(em, paddle.to_tensor(tags), lengths=lengths, reduction="sum").backward()
    np.testing.assert_allclose(em.grad.numpy(), central_difference(nll, emissions, 1e-6), atol=1e-8)


@pytest.mark.parametrize("name", ["transitions", "start_transitions", "end_transitions"])
def test_nll_gradient_wrt_crf_parameters_matches_finite_differences(name):
    rng = np.random.default_rng(9)
    crf, _ = make_crf(3, rng)
    emissions, tags = tensors(rng.normal(size=[3, 4, 3]), rng.integers(0, 3, [3, 4]))
    lengths = paddle.to_tensor([4, 2, 1])
    param = getattr(crf, name)
    original = param.numpy()

    def nll(values):  # float32 parameter; eps = 2^-10 keeps every perturbed value exact
        param.set_value(values.astype("float32"))
        return float(crf.nll(emissions, tags, lengths=lengths, reduction="sum"))

    numeric = central_difference(nll, original.astype(np.float64), 2.0**-10)
    param.set_value(original)
    crf.nll(emissions, tags, lengths=lengths, reduction="sum").backward()
    np.testing.assert_allclose(param.grad.numpy(), numeric, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- constraints


@pytest.mark.parametrize("labels, scheme", [(IOB2_LABELS, "IOB2"), (BIOES_LABELS, "BIOES")])
def test_constrained_viterbi_only_yields_valid_paths(labels, scheme):
    rng = np.random.default_rng(10)
    constraints = allowed_transitions(labels, scheme)
    crf, _ = make_crf(len(labels), rng, constraints=constraints)
    free = LinearChainCRF(len(labels))
    for mine, theirs in zip(free.parameters(), crf.parameters()):
        mine.set_value(theirs)
    emissions = tensors(rng.normal(0, 3, [300, 6, len(labels)]))[0]
    lengths = paddle.to_tensor(rng.integers(1, 7, [300]))
    _, paths = crf.viterbi_decode(emissions, lengths=lengths)
    _, free_paths = free.viterbi_decode(emissions, lengths=lengths)
    for row, n in zip(paths.numpy(), lengths.numpy()):
        assert is_valid(row[:n], labels, scheme), [labels[i] for i in row[:n]]
    assert not all(is_valid(row[:n], labels, scheme) for row, n in zip(free_paths.numpy(), lengths.numpy()))


def test_constrained_viterbi_stays_valid_for_emissions_of_1e4():
    rng = np.random.default_rng(17)
    crf, _ = make_crf(5, rng, constraints=allowed_transitions(BIOES_LABELS, "BIOES"))
    emissions = paddle.to_tensor(rng.choice([-1e4, 1e4], size=[200, 5, 5]).astype("float32"))
    _, paths = crf.viterbi_decode(emissions)
    assert all(is_valid(row, BIOES_LABELS, "BIOES") for row in paths.numpy())


@pytest.mark.parametrize("labels, scheme", [(IOB2_LABELS, "IOB2"), (BIOES_LABELS, "BIOES")])
def test_constrained_viterbi_and_training_match_brute_force_over_valid_paths(labels, scheme):
    rng = np.random.default_rng(11)
    constraints = allowed_transitions(labels, scheme)
    crf, params = make_crf(len(labels), rng, constraints=constraints, constrain_training=True)
    emissions = rng.normal(0, 3, [5, 4, len(labels)])
    lengths = np.array([4, 4, 3, 2, 1])
    em, lengths_t = tensors(emissions, lengths)
    scores, paths = crf.viterbi_decode(em, lengths=lengths_t)
    log_z = crf.log_partition(em, lengths=lengths_t).numpy()
    for b, n in enumerate(lengths):
        valid = lambda path: is_valid(path, labels, scheme)  # noqa: E731
        expected_log_z, best, path = brute_force(emissions[b], n, params, keep=valid)
        np.testing.assert_allclose(scores.numpy()[b], best, rtol=1e-12)
        np.testing.assert_array_equal(paths.numpy()[b, :n], path)
        np.testing.assert_allclose(log_z[b], expected_log_z, rtol=1e-12)


def test_constraints_apply_to_training_only_when_asked():
    rng = np.random.default_rng(12)
    constraints = allowed_transitions(IOB2_LABELS, "IOB2")
    crf, params = make_crf(5, rng, constraints=constraints)
    emissions = rng.normal(size=[1, 3, 5])
    log_z = crf.log_partition(*tensors(emissions)).numpy()[0]
    np.testing.assert_allclose(log_z, brute_force(emissions[0], 3, params)[0], rtol=1e-12)
    tags = paddle.to_tensor([[2, 0, 0]])  # starts with I-PER: forbidden
    free_score = float(crf.score(*tensors(emissions), tags)[0])
    crf.constrain_training = True
    constrained_score = float(crf.score(*tensors(emissions), tags)[0])
    np.testing.assert_allclose(constrained_score, free_score + NEG_PENALTY, rtol=1e-12)


# ----------------------------------------------------------------------------- numerics and layer


def test_stable_for_emissions_of_1e4():
    rng = np.random.default_rng(13)
    crf, _ = make_crf(5, rng)
    emissions = (rng.choice([-1e4, 1e4], size=[4, 6, 5]) + rng.normal(size=[4, 6, 5])).astype("float32")
    tags = paddle.to_tensor(rng.integers(0, 5, [4, 6]))
    em = paddle.to_tensor(emissions, stop_gradient=False)
    nll = crf.nll(em, tags, lengths=paddle.to_tensor([6, 5, 2, 1]), reduction="none")
    nll.sum().backward()
    log_z = crf.log_partition(em, lengths=paddle.to_tensor([6, 5, 2, 1]))
    reference = crf.log_partition(*tensors(emissions.astype("float64")), lengths=paddle.to_tensor([6, 5, 2, 1]))
    assert log_z.dtype == paddle.float32 and np.isfinite(log_z.numpy()).all()
    np.testing.assert_allclose(log_z.numpy(), reference.numpy(), rtol=1e-6)
    assert np.isfinite(em.grad.numpy()).all() and np.isfinite(crf.transitions.grad.numpy()).all()
    assert (nll.numpy() > -1e-2).all()
    assert np.isfinite(crf.viterbi_decode(em)[0].numpy()).all()


def test_float16_emissions_are_computed_in_float32():
    rng = np.random.default_rng(14)
    crf, _ = make_crf(3, rng)
    emissions, tags = rng.normal(size=[2, 3, 3]).astype("float16"), paddle.to_tensor(rng.integers(0, 3, [2, 3]))
    half = crf(paddle.to_tensor(emissions), tags)
    full = crf(paddle.to_tensor(emissions.astype("float32")), tags)
    assert half.dtype == paddle.float32 and half.shape == []
    assert float(half) == float(full)
    assert crf.viterbi_decode(paddle.to_tensor(emissions))[0].dtype == paddle.float32


@pytest.mark.parametrize("constrained", [False, True])
def test_float16_parameters_are_computed_in_float32(constrained):
    """AMP O2 casts the model's floating-point weights to float16 (on a GPU; done by hand
    here): every method, and the matrix for ``paddle.text.viterbi_decode``, still work in
    float32 on float32 emissions, with the float16-rounded parameters."""
    rng = np.random.default_rng(20)
    constraints = allowed_transitions(["O", "B-A", "I-A"], "IOB2") if constrained else None
    crf, _ = make_crf(3, rng, constraints=constraints)
    emissions, tags = tensors(rng.normal(size=[2, 4, 3]).astype("float32"), rng.integers(0, 3, [2, 4]))
    half = LinearChainCRF(3, constraints=constraints)
    for mine, theirs in zip(half.parameters(), crf.parameters()):
        mine.set_value(theirs.astype("float16").astype("float32"))
    want = (half.nll(emissions, tags).numpy(), half.viterbi_decode(emissions)[1].numpy(),
            half.bos_eos_transitions().numpy())
    half._to_impl(dtype="float16", floating_only=True, include_sublayers=True)
    assert [p.dtype for p in half.parameters()] == [paddle.float16] * 3
    got = (half.nll(emissions, tags), half.viterbi_decode(emissions)[1], half.bos_eos_transitions())
    assert got[0].dtype == got[2].dtype == paddle.float32
    for value, expected in zip(got, want):
        np.testing.assert_array_equal(value.numpy(), expected)


def test_forward_is_the_mean_nll_and_reductions():
    rng = np.random.default_rng(15)
    crf, _ = make_crf(3, rng)
    emissions, tags = tensors(rng.normal(size=[3, 2, 3]), rng.integers(0, 3, [3, 2]))
    per_example = crf.nll(emissions, tags, reduction="none").numpy()
    assert per_example.shape == (3,) and (per_example > 0).all()
    np.testing.assert_allclose(float(crf(emissions, tags)), per_example.mean(), rtol=1e-12)
    np.testing.assert_allclose(float(crf.nll(emissions, tags, reduction="sum")), per_example.sum(), rtol=1e-12)


def test_parameters_buffers_and_initialisation():
    crf = LinearChainCRF(7, constraints=allowed_transitions(["O", "B-A", "I-A", "B-B", "I-B", "B-C", "I-C"]))
    assert [p.shape for p in crf.parameters()] == [[7, 7], [7], [7]]
    assert all(p.dtype == paddle.float32 and np.abs(p.numpy()).max() <= 0.1 for p in crf.parameters())
    names = {crf.transitions.name, crf.start_transitions.name, crf.end_transitions.name}
    assert {p.name for p in crf.parameters()} == names
    assert set(crf.state_dict()) == {
        "transitions", "start_transitions", "end_transitions", "allowed", "allowed_start", "allowed_end"
    }
    assert crf.allowed.dtype == paddle.bool and crf.allowed.stop_gradient


# ----------------------------------------------------------------------------- input checks


def _inputs(emissions=(2, 3, 5), tags=(2, 3)):
    return paddle.zeros(emissions, dtype="float32"), paddle.zeros(tags, dtype="int64")


NAME = "LinearChainCRF: "
BAD_INPUTS = [
    (lambda crf: crf(*_inputs(emissions=(2, 3, 4))),
     "expected emissions of shape [batch_size, seq_len, 5], got [2, 3, 4]"),
    (lambda crf: crf.viterbi_decode(paddle.zeros([2, 3])),
     "expected emissions of shape [batch_size, seq_len, 5], got [2, 3]"),
    (lambda crf: crf.log_partition(paddle.zeros([2, 3, 5], dtype="int64")),
     "expected floating-point emissions, got paddle.int64"),
    (lambda crf: crf(*_inputs(tags=(2, 4))), "expected int tags of shape [2, 3], got paddle.int64 [2, 4]"),
    (lambda crf: crf(_inputs()[0], paddle.zeros([2, 3])),
     "expected int tags of shape [2, 3], got paddle.float32 [2, 3]"),
    (lambda crf: crf(_inputs()[0], paddle.full([2, 3], 5, "int64")),
     "expected tags in [0, 5) at real steps, got values in [5, 5]"),
    (lambda crf: crf(*_inputs(), mask=paddle.ones([2, 4])), "expected mask of shape [2, 3], got [2, 4]"),
    (lambda crf: crf(*_inputs(), mask=paddle.to_tensor([[1, 1, 0], [1, 0, 1]])),
     "expected a left-aligned mask (a prefix of ones), got a 0 before a 1 in row 1"),
    (lambda crf: crf(*_inputs(), mask=paddle.to_tensor([[0, 0, 0], [1, 1, 1]])),
     "expected the first step to be real (mask[:, 0] == 1), got 0 in row 0"),
    (lambda crf: crf(*_inputs(), mask=paddle.to_tensor([[1, 2, 0], [1, 1, 1]])),
     "expected mask values in {0, 1}, got other values"),
    (lambda crf: crf(*_inputs(), lengths=paddle.to_tensor([0, 3])),
     "expected lengths in [1, 3], got values in [0, 3]"),
    (lambda crf: crf(*_inputs(), lengths=paddle.to_tensor([[3], [3]])),
     "expected int lengths of shape [2], got paddle.int64 [2, 1]"),
    (lambda crf: crf(*_inputs(), mask=paddle.ones([2, 3]), lengths=paddle.to_tensor([3, 3])),
     "expected mask or lengths, got both"),
    (lambda crf: crf.nll(*_inputs(), reduction="avg"),
     "expected reduction in ('mean', 'sum', 'none'), got 'avg'"),
    (lambda crf: LinearChainCRF(0), "expected num_labels to be an int >= 1, got 0"),
    (lambda crf: LinearChainCRF(5, constrain_training=True),
     "expected constraints with constrain_training=True, got None"),
    (lambda crf: LinearChainCRF(5, constraints=allowed_transitions(["O", "B-A", "I-A"])),
     "expected allowed to be a bool array of shape [5, 5], got bool [3, 3]"),
]


@pytest.mark.parametrize("call, message", BAD_INPUTS)
def test_bad_input_raises_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=re.escape(NAME + message)):
        call(LinearChainCRF(5))


def test_padded_tags_outside_the_label_range_are_ignored():
    crf = LinearChainCRF(5)
    emissions, _ = _inputs()
    tags = paddle.to_tensor([[1, 2, -100], [4, -100, -100]])
    assert np.isfinite(float(crf(emissions, tags, lengths=paddle.to_tensor([2, 1]))))


# ----------------------------------------------------------------------------- PaddleNLP


@pytest.mark.slow
def test_paddlenlp_crf_loss_uses_transposed_transitions():
    from paddlenlp.layers import LinearChainCrf

    rng = np.random.default_rng(16)
    trans = rng.uniform(-3, 3, [3, 3]).astype("float32")  # asymmetric
    emissions = rng.normal(size=[2, 3, 3]).astype("float32")
    nlp = LinearChainCrf(3, with_start_stop_tag=False)
    nlp.transitions.set_value(trans)
    ours = LinearChainCRF(3)
    ours.transitions.set_value(trans)
    ours.start_transitions.set_value(np.zeros(3, "float32"))
    ours.end_transitions.set_value(np.zeros(3, "float32"))
    zeros = np.zeros(3)
    theirs = nlp(paddle.to_tensor(emissions), paddle.to_tensor([3, 3])).numpy()  # their log Z
    mine = ours.log_partition(paddle.to_tensor(emissions)).numpy()
    for b in range(2):
        sequence = emissions[b].astype(np.float64)
        right = brute_force(sequence, 3, (trans.astype(np.float64), zeros, zeros))[0]
        transposed = brute_force(sequence, 3, (trans.T.astype(np.float64), zeros, zeros))[0]
        np.testing.assert_allclose(mine[b], right, rtol=1e-5)
        np.testing.assert_allclose(theirs[b], transposed, rtol=1e-5)
        assert abs(theirs[b] - right) > 1e-2


# ----------------------------------------------------------------------------- static-graph decoding


def test_bos_eos_transitions_lay_out_the_matrix_of_paddle_viterbi_decode():
    """Rows L and L + 1 are the op's EOS and BOS tags (end and start scores); entering either
    is unreachable; forbidden moves get the decoding penalty, as in ``viterbi_decode``."""
    rng = np.random.default_rng(18)
    crf, (trans, start, end) = make_crf(5, rng, constraints=allowed_transitions(IOB2_LABELS, "IOB2"))
    allowed, allowed_start, allowed_end = allowed_transitions(IOB2_LABELS, "IOB2")
    matrix = crf.bos_eos_transitions().numpy()
    assert matrix.shape == (7, 7) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix[:5, :5], np.where(allowed, trans, trans + DECODE_PENALTY), rtol=1e-7)
    np.testing.assert_allclose(matrix[5, :5], np.where(allowed_end, end, end + DECODE_PENALTY), rtol=1e-7)
    np.testing.assert_allclose(matrix[6, :5], np.where(allowed_start, start, start + DECODE_PENALTY), rtol=1e-7)
    assert (matrix[:, 5:] <= -1e29).all()
    free, (_, free_start, free_end) = make_crf(5, rng)  # unconstrained: the scores as they are
    np.testing.assert_array_equal(free.bos_eos_transitions().numpy()[5:, :5], np.stack([free_end, free_start]))


@pytest.mark.parametrize("labels, scheme", [(IOB2_LABELS, "IOB2"), (BIOES_LABELS, "BIOES"), (None, None)])
def test_paddle_viterbi_decode_with_bos_eos_transitions_matches_brute_force(labels, scheme):
    """``paddle.text.viterbi_decode(emissions + two zero columns, bos_eos_transitions(), lengths)``
    finds the best (valid) path; start and end scores of +-15 decide many of them."""
    rng = np.random.default_rng(19)
    constraints = allowed_transitions(labels, scheme) if labels else None
    crf, params = make_crf(5, rng, constraints=constraints)
    crf.start_transitions.set_value(rng.uniform(-15, 15, [5]).astype("float32"))
    crf.end_transitions.set_value(rng.uniform(-15, 15, [5]).astype("float32"))
    params[1:] = [crf.start_transitions.numpy().astype(np.float64), crf.end_transitions.numpy().astype(np.float64)]
    lengths = np.array([4, 1, 3, 2, 4, 1, 2, 3])
    emissions = rng.normal(0, 3, [8, 4, 5]).astype("float32")
    potentials = np.concatenate([emissions, np.zeros([8, 4, 2], "float32")], axis=2)
    scores, paths = paddle.text.viterbi_decode(*tensors(potentials), crf.bos_eos_transitions(),
                                               paddle.to_tensor(lengths), include_bos_eos_tag=True)
    keep = (lambda path: is_valid(path, labels, scheme)) if labels else None
    for b, n in enumerate(lengths):
        _, best, path = brute_force(emissions[b].astype(np.float64), n, params, keep=keep)
        np.testing.assert_array_equal(paths.numpy()[b, :n], path)
        np.testing.assert_allclose(scores.numpy()[b], best, rtol=1e-5)
