import paddle
import pytest

from ernie_res.config import ConfigError, OptimizerConfig
from ernie_res.engine.optim import _no_decay_names, build_optimizer, lr_lambda, param_groups


class Toy(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.encoder = paddle.nn.Sequential(paddle.nn.Linear(4, 4), paddle.nn.LayerNorm(4))
        self.crf = paddle.nn.Linear(4, 3)
        self.classifier = paddle.nn.Linear(4, 2)


def ratios(model, cfg):
    out = {}
    for g in param_groups(model, cfg):
        for p in g["params"]:
            out[p.name] = g["learning_rate"]
    return out


def test_groups_and_ratios():
    m = Toy()
    cfg = OptimizerConfig(lr=1e-4, head_lr=1e-3, group_lrs={"crf": 1e-2})
    r = ratios(m, cfg)
    assert all(r[p.name] == pytest.approx(1.0) for p in m.encoder.parameters())
    assert all(r[p.name] == pytest.approx(10.0) for p in m.classifier.parameters())
    assert all(r[p.name] == pytest.approx(100.0) for p in m.crf.parameters())
    with pytest.raises(ConfigError, match=r"group_lrs.crff: the model has no child layer"):
        param_groups(m, OptimizerConfig(group_lrs={"crff": 1.0}))


def test_no_decay_on_bias_and_norm():
    m = Toy()
    nd = _no_decay_names(m)
    assert m.encoder[1].weight.name in nd and m.encoder[0].bias.name in nd
    assert m.encoder[0].weight.name not in nd and m.classifier.weight.name not in nd


def test_schedule_values():
    f = lr_lambda("linear", 10, 110)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.5) and f(110) == pytest.approx(0.0)
    c = lr_lambda("cosine", 0, 100)
    assert c(0) == pytest.approx(1.0) and c(50) == pytest.approx(0.5)
    assert lr_lambda("constant", 5, 100)(80) == 1.0


def test_head_lr_is_applied_in_a_step():
    paddle.seed(0)
    m = Toy()
    opt, sched = build_optimizer(m, OptimizerConfig(lr=1e-3, head_lr=1e-1, weight_decay=0.0,
                                                    warmup_ratio=0.0, schedule="constant"),
                                 total_steps=10, max_grad_norm=0.0)
    w_enc, w_cls = m.encoder[0].weight.numpy().copy(), m.classifier.weight.numpy().copy()
    x = paddle.randn([3, 4])
    loss = m.classifier(m.encoder(x)).sum() + m.crf(x).sum()
    loss.backward()
    opt.step()
    d_enc = abs(m.encoder[0].weight.numpy() - w_enc).max()
    d_cls = abs(m.classifier.weight.numpy() - w_cls).max()
    # Adam's first step moves every weight by about lr (sign of the gradient)
    assert d_enc == pytest.approx(1e-3, rel=0.05) and d_cls == pytest.approx(1e-1, rel=0.05)
