"""A deterministic, resumable, optionally distributed batch sampler.

The order of epoch ``e`` depends only on ``(seed, e)``, so a run resumed from ``latest/``
sees exactly the batches an uninterrupted run would: ``set_epoch(e, skip=k)`` drops the
first ``k`` batches of that epoch. Under data parallelism each rank takes every
``world_size``-th index of the shuffled list, padded by wrapping around so that every rank
has the same number of batches (as ``paddle.io.DistributedBatchSampler`` does).
"""
import math

import numpy as np
from paddle.io import Sampler


class EpochBatchSampler(Sampler):
    def __init__(self, num_examples, batch_size, shuffle=True, seed=0, rank=0, world_size=1,
                 drop_last=False):
        if batch_size < 1:
            raise ValueError(f"EpochBatchSampler: expected batch_size >= 1, got {batch_size}")
        if num_examples < 1:
            raise ValueError("EpochBatchSampler: the dataset is empty")
        self.num_examples = num_examples
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.drop_last = drop_last
        self.epoch = 0
        self.skip = 0
        self.per_rank = math.ceil(num_examples / world_size)

    def set_epoch(self, epoch, skip=0):
        self.epoch = epoch
        self.skip = skip

    def _indices(self):
        order = np.arange(self.num_examples)
        if self.shuffle:
            order = np.random.RandomState(self.seed + self.epoch).permutation(self.num_examples)
        total = self.per_rank * self.world_size
        if total > len(order):
            order = np.concatenate([order, order[: total - len(order)]])
        return order[self.rank:total:self.world_size].tolist()

    def __iter__(self):
        idx = self._indices()
        batches = [idx[i:i + self.batch_size] for i in range(0, len(idx), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        yield from batches[self.skip:]

    def __len__(self):
        if self.drop_last:
            return self.per_rank // self.batch_size - self.skip
        return math.ceil(self.per_rank / self.batch_size) - self.skip

    def full_len(self):
        """Batches per epoch, ignoring ``skip``."""
        if self.drop_last:
            return self.per_rank // self.batch_size
        return math.ceil(self.per_rank / self.batch_size)
