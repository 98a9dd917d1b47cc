"""The primitives a ``TrainStrategy`` (``models/base.py``) may use inside a training step.

The trainer builds one ``StepContext`` per run and passes it to every strategy hook, so a
strategy that needs more than the default step (the text VAE's E-steps) composes these
instead of reaching into the trainer.
"""
import paddle

from ernie_res.data.batching import to_tensors
from ernie_res.data.sampler import EpochBatchSampler


class StepContext:
    """Args:
        net: the model as trained (``paddle.DataParallel`` under data parallelism).
        optimizer: the run's optimizer.
        amp (AMP): mixed-precision helper (a pass-through on the CPU).
        features (list): the training features.
        collate (callable): features -> batch dict.
        batch_size (int), seed (int), rank (int), world_size (int): as in the run.
    """

    def __init__(self, net, optimizer, amp, features, collate, batch_size, seed, rank=0,
                 world_size=1):
        self.net, self.optimizer, self.amp = net, optimizer, amp
        self.features, self.collate = features, collate
        self.batch_size, self.seed = batch_size, seed
        self.rank, self.world_size = rank, world_size

    def forward(self, batch):
        """The model's output dict for a batch dict (under autocast when AMP is on)."""
        with self.amp.autocast():
            return self.net(**to_tensors(batch))

    def backward(self, loss):
        """Backward pass of ``loss`` (scaled when float16 AMP is on)."""
        self.amp.backward(loss)

    @staticmethod
    def release(params):
        """Drop the gradients of ``params``: the next optimizer step leaves them unchanged."""
        for p in params:
            p.clear_gradient(False)

    def update(self, frozen=()):
        """One optimizer update from the current gradients, ``frozen`` parameters excluded.

        Not counted as a training step: the learning-rate schedule does not move.
        """
        self.release(frozen)
        self.amp.unscale(self.optimizer)
        self.amp.step(self.optimizer)
        self.optimizer.clear_grad()

    def fresh_batches(self, seed_offset, epoch):
        """Training batches (dicts) in an order of their own: a permutation seeded by
        ``Global.seed + seed_offset`` and ``epoch``, split across ranks like the main loop's."""
        sampler = EpochBatchSampler(len(self.features), self.batch_size, shuffle=True,
                                    seed=self.seed + seed_offset, rank=self.rank,
                                    world_size=self.world_size)
        sampler.set_epoch(epoch)
        for idx in sampler:
            yield self.collate([self.features[i] for i in idx])


def broadcast_buffers(model):
    """Copy rank 0's buffers (e.g. a training phase switched after evaluation) to all ranks."""
    for buf in model.buffers():
        paddle.distributed.broadcast(buf, src=0)
