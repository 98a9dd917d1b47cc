"""Device selection and the data-parallel environment."""
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


def setup(name):
    """Set the device and, under ``paddle.distributed.launch``, the parallel environment.

    Returns:
        tuple: ``(device, rank, world_size)``.
    """
    device = resolve_device(name)
    paddle.set_device(device)
    world_size = paddle.distributed.get_world_size()
    rank = paddle.distributed.get_rank() if world_size > 1 else 0
    if world_size > 1:
        paddle.distributed.init_parallel_env()
    return device, rank, world_size
