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
