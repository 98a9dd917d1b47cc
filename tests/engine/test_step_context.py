"""StepContext: the primitives a TrainStrategy composes (forward, backward, release, update,
fresh_batches), each checked on its own."""
import contextlib

import numpy as np
import paddle

from ernie_res.config import OptimizerConfig
from ernie_res.engine.amp import AMP
from ernie_res.engine.optim import build_optimizer
from ernie_res.engine.step_context import StepContext


class RecordingAMP(AMP):
    """The CPU pass-through AMP that records its autocast blocks and backward calls."""

    def __init__(self):
        super().__init__(False)
        self.inside, self.calls = False, []

    def autocast(self):
        @contextlib.contextmanager
        def block():
            self.inside = True
            self.calls.append("autocast")
            try:
                yield
            finally:
                self.inside = False
        return block()

    def backward(self, loss):
        self.calls.append("backward")
        super().backward(loss)


class Net(paddle.nn.Layer):
    def __init__(self, amp=None):
        super().__init__()
        paddle.seed(0)
        self.encoder = paddle.nn.Linear(3, 3)
        self.head = paddle.nn.Linear(3, 1)
        self.amp, self.seen = amp, []

    def forward(self, x, labels=None):
        self.seen.append({"keys": {"x", "labels"} if labels is not None else {"x"},
                          "tensors": isinstance(x, paddle.Tensor),
                          "autocast": self.amp is not None and self.amp.inside})
        out = self.head(self.encoder(x))
        return {"loss": (out.reshape([-1]) - labels.astype("float32")).square().mean()
                if labels is not None else out.mean()}


def batch():
    return {"x": np.arange(6, dtype="float32").reshape(2, 3) / 6,
            "labels": np.array([1, 0], dtype="int64"), "_index": np.array([0, 1])}


def ctx_for(net, amp=None, lr=0.1, weight_decay=0.1):
    opt, sched = build_optimizer(net, OptimizerConfig(lr=lr, weight_decay=weight_decay,
                                                      warmup_steps=2, schedule="linear"),
                                 total_steps=10, max_grad_norm=0.0)
    ctx = StepContext(net, opt, amp or AMP(False), list(range(7)), list, batch_size=2, seed=3)
    return ctx, opt, sched


def weights(layer):
    return [p.numpy().copy() for p in layer.parameters()]


def test_forward_uses_autocast_and_passes_only_model_inputs_as_tensors():
    amp = RecordingAMP()
    net = Net(amp)
    ctx, _, _ = ctx_for(net, amp)
    out = ctx.forward(batch())
    assert net.seen == [{"keys": {"x", "labels"}, "tensors": True, "autocast": True}]
    assert amp.calls == ["autocast"] and not amp.inside
    assert isinstance(out["loss"], paddle.Tensor)


def test_backward_goes_through_amp_and_fills_gradients():
    amp = RecordingAMP()
    net = Net(amp)
    ctx, _, _ = ctx_for(net, amp)
    assert all(p.grad is None for p in net.parameters())
    ctx.backward(ctx.forward(batch())["loss"])
    assert amp.calls == ["autocast", "backward"]
    assert all(p.grad is not None and np.abs(p.grad.numpy()).sum() > 0
               for p in net.parameters())


def test_release_makes_the_optimizer_skip_those_parameters():
    net = Net()
    ctx, opt, _ = ctx_for(net)
    ctx.backward(ctx.forward(batch())["loss"])
    opt.step()                       # Adam now has momentum and weight decay acts: a zeroed
    opt.clear_grad()                 # gradient would still move a parameter, a released not
    enc0, head0 = weights(net.encoder), weights(net.head)
    ctx.backward(ctx.forward(batch())["loss"])
    ctx.release(net.encoder.parameters())
    assert all(p.grad is None for p in net.encoder.parameters())
    assert all(p.grad is not None for p in net.head.parameters())
    opt.step()
    for before, p in zip(enc0, net.encoder.parameters()):
        np.testing.assert_array_equal(p.numpy(), before)
    assert all(np.abs(p.numpy() - before).max() > 0 for before, p in
               zip(head0, net.head.parameters()))


def test_update_steps_only_the_unfrozen_parameters_and_not_the_schedule():
    net = Net()
    ctx, opt, sched = ctx_for(net)
    ctx.backward(ctx.forward(batch())["loss"])
    opt.step()
    opt.clear_grad()
    sched.step()
    lr, last_epoch = opt.get_lr(), sched.last_epoch
    enc0, head0 = weights(net.encoder), weights(net.head)
    ctx.backward(ctx.forward(batch())["loss"])
    ctx.update(frozen=net.head.parameters())
    for before, p in zip(head0, net.head.parameters()):
        np.testing.assert_array_equal(p.numpy(), before)
    assert all(np.abs(p.numpy() - before).max() > 0 for before, p in
               zip(enc0, net.encoder.parameters()))
    assert all(p.grad is None or not np.abs(p.grad.numpy()).any() for p in net.parameters())
    assert (opt.get_lr(), sched.last_epoch) == (lr, last_epoch)   # warm-up: lr would move
    ctx.backward(ctx.forward(batch())["loss"])
    ctx.update()                                                   # nothing frozen: all move
    assert all(np.abs(p.numpy() - before).max() > 0 for before, p in
               zip(head0, net.head.parameters()))
    assert (opt.get_lr(), sched.last_epoch) == (lr, last_epoch)


def fresh(seed, offset, epoch, n=7, batch_size=2, rank=0, world_size=1):
    ctx = StepContext(None, None, AMP(False), list(range(n)), list, batch_size, seed, rank,
                      world_size)
    return list(ctx.fresh_batches(offset, epoch))


def test_fresh_batches_are_reproducible_and_cover_every_feature_once_per_epoch():
    a = fresh(3, 10, epoch=0)
    assert a == fresh(3, 10, epoch=0)
    assert [len(b) for b in a] == [2, 2, 2, 1]
    assert sorted(x for b in a for x in b) == list(range(7))
    epochs = [fresh(3, 10, epoch=e) for e in range(4)]
    assert all(sorted(x for b in ep for x in b) == list(range(7)) for ep in epochs)
    assert len({str(ep) for ep in epochs}) == 4                  # a new order every epoch
    assert fresh(4, 9, epoch=2) == epochs[2]                     # seeded by seed + offset
    assert fresh(3, 11, epoch=2) != epochs[2]
    # collate receives the features themselves, in the batch's order
    ctx = StepContext(None, None, AMP(False), [{"i": i} for i in range(7)],
                      lambda feats: [f["i"] for f in feats], 2, 3)
    assert list(ctx.fresh_batches(10, 0)) == a


def test_fresh_batches_are_split_across_ranks():
    per_rank = [fresh(3, 0, epoch=1, n=8, rank=r, world_size=2) for r in (0, 1)]
    seen = [x for batches in per_rank for b in batches for x in b]
    assert sorted(seen) == list(range(8))                        # disjoint, complete
    assert [len(b) for b in per_rank[0]] == [2, 2] == [len(b) for b in per_rank[1]]
    odd = [fresh(3, 0, epoch=1, n=7, rank=r, world_size=2) for r in (0, 1)]
    assert sum(len(b) for b in odd[0]) == sum(len(b) for b in odd[1]) == 4   # padded by wrap
    assert set(x for batches in odd for b in batches for x in b) == set(range(7))
    assert fresh(3, 0, epoch=1, n=8, rank=1, world_size=2) == per_rank[1]
