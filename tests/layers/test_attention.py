"""Tests for ernie_res.layers.attention against numpy references and finite differences."""

import numpy as np
import paddle
import pytest

from ernie_res.layers.attention import (
    EntityAwareAttention,
    MaskedAttentionPooling,
    masked_mean,
    masked_softmax,
)

LENGTHS = [3, 5]  # real tokens per row; row 0 has padding inside the unpadded batch too


def _np_softmax(s):
    e = np.exp(s - s.max())
    return e / e.sum()


def _inputs(hidden, seed=0, seq_len=5):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((len(LENGTHS), seq_len, hidden))
    mask = np.zeros((len(LENGTHS), seq_len), dtype="int64")
    for b, n in enumerate(LENGTHS):
        mask[b, :n] = 1
    return x, mask


def _pad_with_garbage(x, mask, extra, seed=1):
    """Append ``extra`` padded positions and overwrite every padded value with 1e3 * randn."""
    rng = np.random.default_rng(seed)
    b, t, h = x.shape
    xp = 1e3 * rng.standard_normal((b, t + extra, h))
    mp = np.zeros((b, t + extra), dtype=mask.dtype)
    mp[:, :t] = mask
    xp[mp.astype(bool)] = x[mask.astype(bool)]
    return xp, mp


def _t(a, dtype="float32"):
    return paddle.to_tensor(np.asarray(a, dtype=dtype))


# ------------------------------------------------------------------------------ masked_softmax


def test_masked_softmax_matches_softmax_over_kept_positions_and_ignores_garbage():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((3, 6)) * 3
    mask = np.array([[1, 1, 0, 1, 0, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 0]])
    scores[mask == 0] = [1e30, -np.inf, np.inf, np.nan, 1e3, -1e3, 7.0, 8.0]
    out = masked_softmax(_t(scores), _t(mask, "bool")).numpy()
    for b in range(3):
        keep = mask[b] == 1
        np.testing.assert_allclose(out[b, keep], _np_softmax(scores[b, keep]), rtol=1e-6)
        assert (out[b, ~keep] == 0.0).all()  # exactly zero, not just small
        assert out[b].sum() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("dtype", ["bool", "int64", "int32", "float32"])
def test_masked_softmax_accepts_bool_int_float_masks(dtype):
    scores = np.array([[0.5, -1.0, 2.0, 0.0]])
    mask = np.array([[1, 0, 1, 1]])
    out = masked_softmax(_t(scores), _t(mask, dtype)).numpy()
    np.testing.assert_allclose(out[0, [0, 2, 3]], _np_softmax(scores[0, [0, 2, 3]]), rtol=1e-6)
    assert out[0, 1] == 0.0


def test_masked_softmax_all_masked_row_is_zero_with_finite_gradient():
    scores = _t([[1.0, 2.0, 3.0], [1e3, -1e3, 0.0]])
    scores.stop_gradient = False
    out = masked_softmax(scores, _t([[0, 0, 0], [1, 0, 1]], "bool"))
    np.testing.assert_array_equal(out.numpy()[0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(out.numpy()[1], [1.0, 0.0, 0.0])
    (out * _t([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])).sum().backward()
    assert np.isfinite(scores.grad.numpy()).all()
    np.testing.assert_array_equal(scores.grad.numpy()[0], [0.0, 0.0, 0.0])


def test_masked_softmax_broadcast_mask_and_other_axis():
    rng = np.random.default_rng(3)
    scores = rng.standard_normal((2, 3, 4))
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 0]])[:, None, :]  # [2, 1, 4]
    out = masked_softmax(_t(scores), _t(mask)).numpy()
    for b in range(2):
        for q in range(3):
            keep = mask[b, 0] == 1
            np.testing.assert_allclose(out[b, q, keep], _np_softmax(scores[b, q, keep]), rtol=1e-6)
            assert (out[b, q, ~keep] == 0).all()
    out0 = masked_softmax(_t(scores), _t(np.ones((2, 3, 1))), axis=1).numpy()
    np.testing.assert_allclose(out0[1, :, 2], _np_softmax(scores[1, :, 2]), rtol=1e-6)


def test_masked_softmax_rejects_mask_of_wrong_rank_or_shape():
    with pytest.raises(ValueError, match=r"masked_softmax: expected mask of rank 4 broadcastable "
                                         r"to scores \[2, 1, 3, 5\], got \[2, 5\]"):
        masked_softmax(paddle.zeros([2, 1, 3, 5]), paddle.ones([2, 5]))
    with pytest.raises(ValueError, match=r"got \[2, 4\]"):
        masked_softmax(paddle.zeros([2, 5]), paddle.ones([2, 4]))


# ------------------------------------------------------------------------------ masked_mean


def test_masked_mean_matches_numpy_and_ignores_padding():
    x, mask = _inputs(4)
    mask[0] = 0  # an all-masked row gives zeros
    xp, mp = _pad_with_garbage(x, mask, extra=3)
    out = masked_mean(_t(xp), _t(mp)).numpy()
    np.testing.assert_array_equal(out[0], np.zeros(4))
    np.testing.assert_allclose(out[1], x[1, :5].mean(0), rtol=1e-5)
    np.testing.assert_allclose(out, masked_mean(_t(x), _t(mask)).numpy(), atol=1e-6)


# ------------------------------------------------------------------------------ pooling


def _set_pooling(layer, rng):
    h, a = layer.hidden_size, layer.attn_size
    w, b, v = rng.standard_normal((h, a)), rng.standard_normal(a), rng.standard_normal((a, 1))
    layer.proj.weight.set_value(w.astype("float32"))
    layer.proj.bias.set_value(b.astype("float32"))
    layer.score.weight.set_value(v.astype("float32"))
    return w, b, v


def test_attention_pooling_matches_numpy_reference():
    rng = np.random.default_rng(5)
    layer = MaskedAttentionPooling(4, attn_size=3)
    w, b, v = _set_pooling(layer, rng)
    x, mask = _inputs(4, seed=6)
    out = layer(_t(x), _t(mask))
    for i, n in enumerate(LENGTHS):
        s = (np.tanh(x[i, :n] @ w + b) @ v)[:, 0]  # score_t = v^T tanh(W x_t + b)
        a = _np_softmax(s)
        np.testing.assert_allclose(out["weights"].numpy()[i, :n], a, rtol=1e-5)
        assert (out["weights"].numpy()[i, n:] == 0).all()
        np.testing.assert_allclose(out["pooled"].numpy()[i], a @ x[i, :n], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("train", [True, False])
def test_attention_pooling_padding_invariance(train):
    paddle.seed(0)
    layer = MaskedAttentionPooling(4, dropout=0.0)
    layer.train() if train else layer.eval()
    x, mask = _inputs(4)
    xp, mp = _pad_with_garbage(x, mask, extra=4)
    ref, got = layer(_t(x), _t(mask)), layer(_t(xp), _t(mp))
    np.testing.assert_allclose(got["pooled"].numpy(), ref["pooled"].numpy(), atol=1e-5)
    np.testing.assert_allclose(got["weights"].numpy()[:, :5], ref["weights"].numpy(), atol=1e-6)
    assert (got["weights"].numpy()[:, 5:] == 0).all()


def test_attention_pooling_parameter_gradients_ignore_padding():
    paddle.seed(1)
    layer = MaskedAttentionPooling(4)
    x, mask = _inputs(4)
    xp, mp = _pad_with_garbage(x, mask, extra=4)
    grads = []
    for xx, mm in ((x, mask), (xp, mp)):
        layer.clear_gradients()
        (layer(_t(xx), _t(mm))["pooled"] ** 2).sum().backward()
        grads.append([p.grad.numpy().copy() for p in layer.parameters()])
    for g0, g1 in zip(*grads):
        np.testing.assert_allclose(g1, g0, rtol=1e-5, atol=1e-6)


def test_attention_pooling_dropout_is_off_in_eval():
    paddle.seed(2)
    layer = MaskedAttentionPooling(4, dropout=0.5)
    x, mask = _inputs(4)
    layer.eval()
    ref = layer(_t(x), _t(mask))
    a = ref["weights"].numpy()
    pooled = np.einsum("bt,bth->bh", a, x * mask[..., None])
    np.testing.assert_allclose(ref["pooled"].numpy(), pooled, rtol=1e-5, atol=1e-6)


def _finite_difference(f, arr, eps=1e-6):
    grad = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        hi = f(arr)
        arr[idx] = old - eps
        lo = f(arr)
        arr[idx] = old
        grad[idx] = (hi - lo) / (2 * eps)
    return grad


def test_attention_pooling_gradient_matches_finite_differences_float64():
    paddle.seed(3)
    layer = MaskedAttentionPooling(3, attn_size=2)
    layer.to(dtype="float64")
    x, mask = _inputs(3, seed=9, seq_len=4)
    r = np.random.default_rng(4).standard_normal((2, 3))

    def loss_of_x(arr):
        with paddle.no_grad():
            return float((layer(_t(arr, "float64"), _t(mask))["pooled"] * _t(r, "float64")).sum())

    xt = _t(x, "float64")
    xt.stop_gradient = False
    (layer(xt, _t(mask))["pooled"] * _t(r, "float64")).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), _finite_difference(loss_of_x, x.copy()),
                               rtol=1e-6, atol=1e-8)

    w = layer.proj.weight.numpy().copy()

    def loss_of_w(arr):
        layer.proj.weight.set_value(arr)
        return loss_of_x(x)

    numeric = _finite_difference(loss_of_w, w.copy())
    layer.proj.weight.set_value(w)
    np.testing.assert_allclose(layer.proj.weight.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------------ entity attention


def _np_entity_attention(q_in, x, keep, params, num_heads):
    (wq, bq), (wk, bk), (wv, bv), (wo, bo) = params
    h = q_in.shape[-1]
    d = h // num_heads
    q, k, v = q_in @ wq + bq, x @ wk + bk, x @ wv + bv
    heads = np.zeros((q_in.shape[0], h))
    weights = np.zeros((num_heads, q_in.shape[0], x.shape[0]))
    for head in range(num_heads):
        sl = slice(head * d, (head + 1) * d)
        for i in range(q_in.shape[0]):
            s = k[keep, sl] @ q[i, sl] / np.sqrt(d)
            a = _np_softmax(s)
            weights[head, i, keep] = a
            heads[i, sl] = a @ v[keep, sl]
    return heads @ wo + bo, weights


def test_entity_attention_matches_numpy_reference():
    rng = np.random.default_rng(11)
    layer = EntityAwareAttention(4, num_heads=2)
    params = []
    for lin in (layer.q_proj, layer.k_proj, layer.v_proj, layer.out_proj):
        w, b = rng.standard_normal((4, 4)), rng.standard_normal(4)
        lin.weight.set_value(w.astype("float32"))
        lin.bias.set_value(b.astype("float32"))
        params.append((w, b))
    x, mask = _inputs(4, seed=12)
    queries = rng.standard_normal((2, 2, 4))
    out = layer(_t(queries), _t(x), _t(mask))
    assert out["context"].shape == [2, 2, 4] and out["weights"].shape == [2, 2, 2, 5]
    for b in range(2):
        ctx, wts = _np_entity_attention(queries[b], x[b], mask[b] == 1, params, 2)
        np.testing.assert_allclose(out["context"].numpy()[b], ctx, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(out["weights"].numpy()[b], wts, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("train", [True, False])
def test_entity_attention_padding_invariance(train):
    paddle.seed(4)
    layer = EntityAwareAttention(4, num_heads=2, dropout=0.0)
    layer.train() if train else layer.eval()
    x, mask = _inputs(4)
    xp, mp = _pad_with_garbage(x, mask, extra=3)
    queries = _t(np.random.default_rng(7).standard_normal((2, 3, 4)))
    ref, got = layer(queries, _t(x), _t(mask)), layer(queries, _t(xp), _t(mp))
    np.testing.assert_allclose(got["context"].numpy(), ref["context"].numpy(), atol=1e-5)
    np.testing.assert_allclose(got["weights"].numpy()[..., :5], ref["weights"].numpy(), atol=1e-6)
    assert (got["weights"].numpy()[..., 5:] == 0).all()
    assert (got["weights"].numpy()[0, :, :, 3:] == 0).all()


def test_entity_attention_gradient_matches_finite_differences_float64():
    paddle.seed(5)
    layer = EntityAwareAttention(4, num_heads=2)
    layer.to(dtype="float64")
    x, mask = _inputs(4, seed=13, seq_len=4)
    queries = _t(np.random.default_rng(8).standard_normal((2, 1, 4)), "float64")
    r = _t(np.random.default_rng(9).standard_normal((2, 1, 4)), "float64")

    def loss_of_x(arr):
        with paddle.no_grad():
            return float((layer(queries, _t(arr, "float64"), _t(mask))["context"] * r).sum())

    xt = _t(x, "float64")
    xt.stop_gradient = False
    (layer(queries, xt, _t(mask))["context"] * r).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), _finite_difference(loss_of_x, x.copy()),
                               rtol=1e-6, atol=1e-8)


def test_non_finite_padding_does_not_reach_real_outputs():
    """Padded values are replaced with ``where`` (not multiplied by 0), so even inf/nan is safe."""
    paddle.seed(6)
    pool, att = MaskedAttentionPooling(4), EntityAwareAttention(4, num_heads=2)
    x, mask = _inputs(4)
    xp, mp = _pad_with_garbage(x, mask, extra=2)
    xp[0, 3], xp[0, 4], xp[1, 6] = np.inf, np.nan, -np.inf
    queries = _t(np.random.default_rng(7).standard_normal((2, 1, 4)))
    np.testing.assert_allclose(masked_mean(_t(xp), _t(mp)).numpy(),
                               masked_mean(_t(x), _t(mask)).numpy(), atol=1e-6)
    np.testing.assert_allclose(pool(_t(xp), _t(mp))["pooled"].numpy(),
                               pool(_t(x), _t(mask))["pooled"].numpy(), atol=1e-5)
    np.testing.assert_allclose(att(queries, _t(xp), _t(mp))["context"].numpy(),
                               att(queries, _t(x), _t(mask))["context"].numpy(), atol=1e-5)


def test_layers_export_to_static_graph_with_dynamic_shapes():
    paddle.seed(7)
    pool, att = MaskedAttentionPooling(4), EntityAwareAttention(4, num_heads=2)
    x, mask = _inputs(4)
    queries = _t(np.random.default_rng(8).standard_normal((2, 2, 4)))
    ref_pool = pool(_t(x), _t(mask))["pooled"].numpy()
    ref_att = att(queries, _t(x), _t(mask))["context"].numpy()
    states = paddle.static.InputSpec([None, None, 4], "float32")
    mask_spec = paddle.static.InputSpec([None, None], "int64")
    pool = paddle.jit.to_static(pool, input_spec=[states, mask_spec], full_graph=True)
    att = paddle.jit.to_static(att, input_spec=[states, states, mask_spec], full_graph=True)
    got_pool = pool(_t(x), _t(mask))["pooled"].numpy()
    np.testing.assert_allclose(got_pool, ref_pool, atol=1e-6)
    np.testing.assert_allclose(att(queries, _t(x), _t(mask))["context"].numpy(), ref_att,
                               atol=1e-6)


# ------------------------------------------------------------------------------ errors


def test_errors_name_the_layer_and_the_shapes():
    pool = MaskedAttentionPooling(4)
    with pytest.raises(ValueError, match=r"MaskedAttentionPooling: expected x of shape "
                                         r"\[batch_size, seq_len, 4\], got \[2, 4\]"):
        pool(paddle.zeros([2, 4]), paddle.ones([2, 4]))
    with pytest.raises(ValueError, match=r"expected x of shape \[batch_size, seq_len, 4\], "
                                         r"got \[2, 5, 3\]"):
        pool(paddle.zeros([2, 5, 3]), paddle.ones([2, 5]))
    with pytest.raises(ValueError, match=r"MaskedAttentionPooling: expected mask of shape "
                                         r"\[batch_size, seq_len\] = \[2, 5\] \(the first two "
                                         r"dims of x\), got \[2, 6\]"):
        pool(paddle.zeros([2, 5, 4]), paddle.ones([2, 6]))
    with pytest.raises(ValueError, match=r"expected x of a floating dtype, got paddle.int64"):
        pool(paddle.zeros([2, 5, 4], dtype="int64"), paddle.ones([2, 5]))
    with pytest.raises(ValueError, match=r"masked_mean: expected mask of shape"):
        masked_mean(paddle.zeros([2, 5, 4]), paddle.ones([5, 2]))
    with pytest.raises(ValueError, match=r"EntityAwareAttention: expected num_heads to divide "
                                         r"hidden_size, got hidden_size=6 and num_heads=4"):
        EntityAwareAttention(6, num_heads=4)
    att = EntityAwareAttention(4, num_heads=2)
    with pytest.raises(ValueError, match=r"EntityAwareAttention: expected queries of shape "
                                         r"\[batch_size, num_queries, 4\], got \[2, 4\]"):
        att(paddle.zeros([2, 4]), paddle.zeros([2, 5, 4]), paddle.ones([2, 5]))
    with pytest.raises(ValueError, match=r"expected queries and x with the same batch_size, "
                                         r"got 3 and 2"):
        att(paddle.zeros([3, 1, 4]), paddle.zeros([2, 5, 4]), paddle.ones([2, 5]))
