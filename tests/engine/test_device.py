"""Device selection and the CPU thread count."""
import paddle
import pytest

from ernie_res.engine.device import rank_zero_first, resolve_device, set_num_threads

needs_cpu_build = pytest.mark.skipif(paddle.device.is_compiled_with_cuda(),
                                     reason="this Paddle build has CUDA")


def paddle_omp_threads():
    """Threads of the OpenMP runtime Paddle ships (its libiomp5), as threadpoolctl sees it."""
    from threadpoolctl import threadpool_info

    counts = [i["num_threads"] for i in threadpool_info()
              if i.get("prefix") == "libiomp" and "paddle" in i.get("filepath", "")]
    assert len(counts) == 1, threadpool_info()
    return counts[0]


@pytest.fixture
def restore_threads():
    before = paddle_omp_threads()
    yield before
    paddle.base.core.set_num_threads(before)
    assert paddle_omp_threads() == before


@needs_cpu_build
def test_gpu_on_a_cpu_build_explains_what_to_install():
    with pytest.raises(RuntimeError, match="paddlepaddle-gpu") as err:
        resolve_device("gpu")
    assert "Global.device=gpu" in str(err.value) and "Global.device=cpu" in str(err.value)


@needs_cpu_build
def test_auto_and_cpu_resolve_to_cpu():
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"


def test_set_num_threads_sets_paddles_openmp_threads(restore_threads):
    target = 3 if restore_threads != 3 else 4
    set_num_threads(target)
    assert paddle_omp_threads() == target
    set_num_threads(0)                                  # 0 changes nothing
    assert paddle_omp_threads() == target
    x = paddle.ones([64, 64])
    assert float((x @ x).sum()) == 64 ** 3              # still computes


def _ranks(world, fail_on_zero=False):
    """Simulate ``world`` ranks: rank 0 runs first, the others wait at the barrier; returns
    the order of events."""
    events = []

    def fn(rank):
        events.append(f"load {rank}")
        if fail_on_zero and rank == 0:
            raise OSError("download failed")
        return rank

    for rank in range(world):                  # rank 0 reaches the barrier before the rest
        try:
            got = rank_zero_first(lambda: fn(rank), rank, world,
                                  barrier=lambda r=rank: events.append(f"barrier {r}"))
            assert got == rank
        except OSError:
            events.append(f"failed {rank}")
    return events


def test_rank_zero_prepares_before_the_others_and_every_rank_meets_the_barrier_once():
    assert _ranks(1) == ["load 0"]                                   # no barrier alone
    assert _ranks(3) == ["load 0", "barrier 0", "barrier 1", "load 1", "barrier 2", "load 2"]
    assert _ranks(2, fail_on_zero=True) == ["load 0", "barrier 0", "failed 0", "barrier 1",
                                            "load 1"]
