"""The GPU mixed-precision path, exercised on the CPU with a recording GradScaler."""
import logging

import paddle

from ernie_res.engine.trainer import AMP


class RecordingScaler:
    def __init__(self):
        self.calls = []

    def scale(self, loss):
        self.calls.append("scale")
        return loss * 1024.0

    def unscale_(self, optimizer):
        self.calls.append("unscale")
        for p in optimizer._parameter_list:
            p.grad.set_value(p.grad / 1024.0)

    def step(self, optimizer):
        self.calls.append("step")
        optimizer.step()

    def update(self):
        self.calls.append("update")

    def state_dict(self):
        return {"scale": 1024.0}


def test_amp_is_off_on_cpu_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        amp = AMP(True, "float16", "O1", device="cpu", logger=logging.getLogger("t"))
    assert not amp.enabled and amp.scaler is None
    assert "needs a GPU" in caplog.text


def test_gpu_float16_path_scales_unscales_then_steps():
    amp = AMP(True, "float16", "O1", device="gpu")
    assert amp.enabled
    amp.scaler = RecordingScaler()
    paddle.seed(0)
    lin = paddle.nn.Linear(3, 1)
    opt = paddle.optimizer.SGD(learning_rate=0.1, parameters=lin.parameters())
    x = paddle.ones([2, 3])
    loss = lin(x).mean()
    amp.backward(loss)
    assert float(lin.weight.grad.abs().max()) > 100          # the scaled gradient
    amp.unscale(opt)
    assert abs(float(lin.weight.grad[0, 0]) - 1.0) < 1e-6    # d mean(w.x + b)/dw = 1
    w0 = lin.weight.numpy().copy()
    amp.step(opt)
    assert amp.scaler.calls == ["scale", "unscale", "step", "update"]
    assert abs(float(lin.weight.numpy()[0, 0]) - (w0[0, 0] - 0.1)) < 1e-6
    assert amp.state_dict() == {"scale": 1024.0}


def test_bfloat16_needs_no_scaler():
    amp = AMP(True, "bfloat16", "O1", device="gpu")
    assert amp.enabled and amp.scaler is None
