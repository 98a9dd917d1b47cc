import numpy as np
import paddle
import pytest

from ernie_res.layers.lm_decoder import build_decoder


@pytest.mark.parametrize("kind", ["gru", "transformer"])
@pytest.mark.parametrize("memory", [True, False])
def test_decoders_are_causal(kind, memory):
    """The state at position t must not depend on inputs after t (no peeking)."""
    paddle.seed(0)
    dec = build_decoder(kind, 8, 2, 2, 0.0, 16)
    dec.eval()
    x = paddle.randn([2, 6, 8])
    mem = paddle.randn([2, 8]) if memory else None
    mask = paddle.ones([2, 6], dtype="int64")
    a = dec(x, mem, mask).numpy()
    x2 = x.clone()
    x2[:, 4:] = paddle.randn([2, 2, 8]) * 10
    b = dec(x2, mem, mask).numpy()
    np.testing.assert_allclose(a[:, :4], b[:, :4], atol=1e-5)
    assert np.abs(a[:, 4:] - b[:, 4:]).max() > 1e-3


def test_transformer_uses_the_memory_and_rejects_long_inputs():
    paddle.seed(0)
    dec = build_decoder("transformer", 8, 1, 2, 0.0, 4)
    dec.eval()
    x, mask = paddle.randn([1, 3, 8]), paddle.ones([1, 3], dtype="int64")
    a = dec(x, paddle.randn([1, 8]), mask).numpy()
    b = dec(x, paddle.randn([1, 8]), mask).numpy()
    assert np.abs(a - b).max() > 1e-4
    with pytest.raises(ValueError, match="expected at most 4 positions, got 5"):
        dec(paddle.randn([1, 5, 8]), None, paddle.ones([1, 5], dtype="int64"))
    with pytest.raises(ValueError, match="not divisible by 3 heads"):
        build_decoder("transformer", 8, 1, 3, 0.0, 4)
    with pytest.raises(ValueError, match="expected 'gru' or 'transformer'"):
        build_decoder("lstm", 8, 1, 2, 0.0, 4)


@pytest.mark.parametrize("memory", [True, False])
def test_gru_steps_equal_the_whole_sequence(memory):
    """Decoding one input at a time from ``initial_state`` gives the teacher-forced states."""
    paddle.seed(0)
    dec = build_decoder("gru", 8, 2, 2, 0.0, 16)
    dec.eval()
    x = paddle.randn([3, 5, 8])
    mem = paddle.randn([3, 8]) if memory else None
    whole = dec(x, mem, paddle.ones([3, 5], dtype="int64")).numpy()
    state = dec.initial_state(mem, x)
    assert state.shape == [2, 3, 8]
    if not memory:
        assert not state.numpy().any()
    steps = []
    for t in range(5):
        out, state = dec.step(x[:, t:t + 1], state)
        steps.append(out.numpy()[:, 0])
    np.testing.assert_allclose(np.stack(steps, 1), whole, rtol=0, atol=1e-6)
    np.testing.assert_allclose(state.numpy()[-1], whole[:, -1], rtol=0, atol=1e-6)


def test_transformer_traces_with_a_dynamic_length():
    """The masks come from ``arange`` comparisons and the length check runs in Python, so the
    decoder traces with dynamic batch and length and gives the dynamic graph's states."""
    paddle.seed(0)
    dec = build_decoder("transformer", 8, 1, 2, 0.0, 6)
    dec.eval()

    class WithoutMemory(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.dec = dec

        def forward(self, x, mask):
            return self.dec(x, None, mask)

    static = paddle.jit.to_static(
        WithoutMemory(), full_graph=True,
        input_spec=[paddle.static.InputSpec([None, None, 8], "float32"),
                    paddle.static.InputSpec([None, None], "int64")])
    for b, t in ((2, 3), (1, 6)):
        x, mask = paddle.randn([b, t, 8]), paddle.ones([b, t], dtype="int64")
        mask[0, -1] = 0
        with paddle.no_grad():
            traced = static(x, mask).numpy()
        np.testing.assert_allclose(traced, dec(x, None, mask).numpy(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", ["gru", "transformer"])
def test_no_mask_means_every_position_is_real(kind):
    paddle.seed(0)
    dec = build_decoder(kind, 8, 2, 2, 0.0, 16)
    dec.eval()
    x, mem = paddle.randn([2, 5, 8]), paddle.randn([2, 8])
    np.testing.assert_array_equal(dec(x, mem).numpy(),
                                  dec(x, mem, paddle.ones([2, 5], dtype="int64")).numpy())


@pytest.mark.parametrize("memory", [True, False])
def test_transformer_steps_with_a_cache_equal_the_whole_sequence(memory):
    """Reading one position at a time, with the keys and values of the earlier ones cached,
    gives the causal teacher-forced states; the cache grows by one position per step."""
    paddle.seed(0)
    dec = build_decoder("transformer", 8, 2, 2, 0.0, 16)
    dec.eval()
    x = paddle.randn([3, 5, 8])
    mem = paddle.randn([3, 8]) if memory else None
    whole = dec(x, mem).numpy()
    assert dec.cache_shape() == [2, None, 2, None, 4]
    keys = values = paddle.zeros([2, 3, 2, 0, 4])
    steps = []
    for t in range(5):
        out, keys, values = dec.step(x[:, t:t + 1], mem, keys, values)
        assert keys.shape == values.shape == [2, 3, 2, t + 1, 4]
        steps.append(out.numpy()[:, 0])
    np.testing.assert_allclose(np.stack(steps, 1), whole, rtol=0, atol=1e-5)
    full = paddle.zeros([2, 3, 2, 16, 4])
    with pytest.raises(ValueError, match="expected at most 16 positions, got 17"):
        dec.step(x[:, :1], mem, full, full)
