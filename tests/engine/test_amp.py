"""The GPU mixed-precision path, run on the CPU with Paddle's real GradScaler.

``paddle.amp.GradScaler`` refuses to enable itself when the current place is not a GPU (it
checks once, in its constructor), but its arithmetic (scaling, ``check_finite_and_unscale``,
``update_loss_scaling``) has CPU kernels. The fixture below answers that one constructor check
as a GPU would; everything after it is Paddle's own code.
"""
import logging

import numpy as np
import paddle
import pytest
from paddle.amp import grad_scaler
from paddle.amp.auto_cast import amp_global_state

from ernie_res.engine.amp import AMP


class _GPUPlace:
    def is_gpu_place(self):
        return True

    def is_xpu_place(self):
        return False

    def is_custom_place(self):
        return False


@pytest.fixture
def gpu_amp(monkeypatch):
    """``AMP(True, "float16", device="gpu")`` whose GradScaler was built as on a GPU."""
    monkeypatch.setattr(grad_scaler, "_dygraph_tracer",
                        lambda: type("Tracer", (), {"_expected_place": _GPUPlace()})())
    amp = AMP(True, "float16", "O1", device="gpu")
    monkeypatch.undo()
    dtype = amp_global_state().amp_dtype
    yield amp
    amp_global_state().amp_dtype = dtype      # auto_cast leaves its dtype set


def _linear():
    paddle.seed(0)
    lin = paddle.nn.Linear(3, 1)
    return lin, paddle.optimizer.SGD(learning_rate=0.1, parameters=lin.parameters())


def test_amp_is_off_on_cpu_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        amp = AMP(True, "float16", "O1", device="cpu", logger=logging.getLogger("t"))
    assert not amp.enabled and amp.scaler is None
    assert "needs a GPU" in caplog.text
    assert amp.state_dict() == {}


def test_float16_scales_unscales_steps_and_grows_the_scale(gpu_amp):
    amp = gpu_amp
    assert amp.enabled and amp.scaler.is_enable()
    lin, opt = _linear()
    with amp.autocast():
        loss = lin(paddle.ones([2, 3])).mean()
    amp.backward(loss)
    # d mean(w.x + b)/dw = 1 per weight, times the initial loss scale 2^15
    np.testing.assert_allclose(lin.weight.grad.numpy().ravel(), [2.0 ** 15] * 3)
    amp.unscale(opt)
    np.testing.assert_allclose(lin.weight.grad.numpy().ravel(), [1.0] * 3, rtol=1e-6)
    w0 = lin.weight.numpy().copy()
    amp.step(opt)
    np.testing.assert_allclose(lin.weight.numpy(), w0 - 0.1, rtol=1e-6)
    state = amp.state_dict()
    assert float(state["scale"][0]) == 2.0 ** 15 and state["incr_count"] == 1


def test_float16_skips_the_step_and_halves_the_scale_on_overflow(gpu_amp):
    amp = gpu_amp
    lin, opt = _linear()
    with amp.autocast():
        loss = lin(paddle.ones([2, 3])).mean() * float("inf")
    amp.backward(loss)
    amp.unscale(opt)
    w0 = lin.weight.numpy().copy()
    amp.step(opt)
    np.testing.assert_array_equal(lin.weight.numpy(), w0)      # no update from inf gradients
    assert float(amp.state_dict()["scale"][0]) == 2.0 ** 14


def test_scaler_state_round_trips(gpu_amp, monkeypatch):
    lin, opt = _linear()
    with gpu_amp.autocast():
        loss = lin(paddle.ones([2, 3])).mean() * float("inf")
    gpu_amp.backward(loss)
    gpu_amp.unscale(opt)
    gpu_amp.step(opt)
    saved = gpu_amp.state_dict()
    monkeypatch.setattr(grad_scaler, "_dygraph_tracer",
                        lambda: type("Tracer", (), {"_expected_place": _GPUPlace()})())
    fresh = AMP(True, "float16", "O1", device="gpu")
    monkeypatch.undo()
    fresh.set_state_dict(saved)
    assert float(fresh.state_dict()["scale"][0]) == 2.0 ** 14
    assert fresh.state_dict()["decr_count"] == saved["decr_count"]


def test_bfloat16_needs_no_scaler():
    amp = AMP(True, "bfloat16", "O1", device="gpu")
    assert amp.enabled and amp.scaler is None
