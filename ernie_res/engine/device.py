"""Device selection, CPU thread count and the data-parallel environment."""
import paddle


def resolve_device(name):
    """``auto`` -> ``gpu`` when this Paddle build has CUDA and sees a GPU, else ``cpu``."""
    has_gpu = paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    if name == "auto":
        return "gpu" if has_gpu else "cpu"
    if name == "gpu" and not has_gpu:
        raise RuntimeError(
            "Global.device=gpu, but this Paddle build has no CUDA or sees no GPU "
            f"(paddle {paddle.__version__}, compiled with CUDA: "
            f"{paddle.device.is_compiled_with_cuda()}). Install paddlepaddle-gpu (see "
            "docs/getting_started.md) or use Global.device=cpu / auto.")
    return name


def set_num_threads(n):
    """Use ``n`` CPU math threads (MKL/oneDNN/OpenMP) in this process; 0 changes nothing.

    Paddle otherwise takes the count from ``OMP_NUM_THREADS`` when it is imported (and uses
    1 when the variable is unset).
    """
    if n > 0:
        paddle.base.core.set_num_threads(int(n))


def use_device(name, num_threads=0):
    """Set the device (``auto`` resolved) and the CPU thread count; returns the device."""
    device = resolve_device(name)
    paddle.set_device(device)
    set_num_threads(num_threads)
    return device


def setup(name, num_threads=0):
    """Set the device, the CPU thread count and, under ``paddle.distributed.launch``, the
    parallel environment.

    Returns:
        tuple: ``(device, rank, world_size)``.
    """
    device = use_device(name, num_threads)
    world_size = paddle.distributed.get_world_size()
    rank = paddle.distributed.get_rank() if world_size > 1 else 0
    if world_size > 1:
        paddle.distributed.init_parallel_env()
    return device, rank, world_size


def rank_zero_first(fn, rank, world_size, barrier=None):
    """Run one-time preparation (``fn``: a download, a cache fill) on rank 0 first, and on
    the other ranks only once rank 0 is done, so that they read its cache instead of all
    downloading into it at once (PaddleNLP's ``from_pretrained`` downloads on every rank).

    Every rank reaches the barrier exactly once, also when rank 0's ``fn`` fails (the others
    then fail on their own, with their own error, instead of waiting forever).
    ``barrier`` defaults to ``paddle.distributed.barrier``. Returns ``fn()``.
    """
    if world_size <= 1:
        return fn()
    barrier = barrier or paddle.distributed.barrier
    if rank == 0:
        try:
            return fn()
        finally:
            barrier()
    barrier()
    return fn()
