from ernie_res.data.sampler import EpochBatchSampler


def flat(s):
    return [i for b in s for i in b]


def test_epoch_order_is_deterministic_and_changes_per_epoch():
    a, b = EpochBatchSampler(50, 8, seed=3), EpochBatchSampler(50, 8, seed=3)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b)
    e0 = EpochBatchSampler(50, 8, seed=3)
    assert list(e0) != list(a)
    assert sorted(flat(a)) == list(range(50))


def test_skip_resumes_mid_epoch():
    s = EpochBatchSampler(50, 8, seed=1)
    s.set_epoch(2)
    full = list(s)
    s.set_epoch(2, skip=3)
    assert list(s) == full[3:]
    assert len(s) == len(full) - 3 and s.full_len() == len(full)


def test_distributed_shards_are_disjoint_and_cover():
    shards = []
    for r in range(2):
        s = EpochBatchSampler(11, 4, seed=0, rank=r, world_size=2)
        s.set_epoch(0)
        shards.append(flat(s))
    assert len(shards[0]) == len(shards[1]) == 6   # padded by wrapping around
    assert set(shards[0]) | set(shards[1]) == set(range(11))
