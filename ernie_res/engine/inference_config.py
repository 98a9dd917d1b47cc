"""How an exported program runs under Paddle Inference: the settings behind the deploy flags.

``tools/infer.py --device --cpu_threads --enable_mkldnn --precision --use_tensorrt`` (and the
same ``Predictor`` arguments) become an ``InferenceOptions`` value. ``config_calls`` checks it
against the exported precision and the machine, and turns it into the list of
``paddle.inference.Config`` calls to make; ``build_config`` makes them. The calls are plain data
so that the GPU and TensorRT settings, which no machine here can run, are still checked by
tests on a CPU.

The choices, as Paddle's deployment tools make them:

=================  ==========================================================================
``device=cpu``     oneDNN on unless ``enable_mkldnn=False``; ``cpu_threads`` threads, by default
                   ``OMP_NUM_THREADS`` as the dynamic graph uses (Paddle Inference alone would
                   use 1 whatever the variable says); ``bf16`` needs oneDNN and a CPU
                   with AVX-512 BF16; ``int8`` needs a program exported with
                   ``--precision int8`` and oneDNN
``device=gpu``     ``fp32``/``fp16``/``bf16`` through ``enable_use_gpu``; ``use_tensorrt`` adds
                   a TensorRT engine with dynamic shapes from the program's inputs (``int8``
                   runs the exported quantized program, without calibration)
=================  ==========================================================================
"""
import os
from dataclasses import dataclass

DEVICES = ("cpu", "gpu")
PRECISIONS = ("fp32", "fp16", "bf16", "int8")
#: ``paddle.inference.PrecisionType`` member per precision
PRECISION_TYPES = {"fp32": "Float32", "fp16": "Half", "bf16": "Bfloat16", "int8": "Int8"}


class InferenceConfigError(ValueError):
    """Deploy options that cannot work together, or not on this program or machine."""


@dataclass(frozen=True)
class InferenceOptions:
    """How to run a deployed model (``None``: the default the docstring names).

    Attributes:
        device: ``cpu`` or ``gpu``.
        cpu_threads: math-library threads per predictor (None: ``default_cpu_threads()``
            is what the predictor passes; None here leaves Paddle Inference's 1).
        enable_mkldnn: oneDNN on the CPU (None: on).
        precision: ``fp32``, ``fp16``, ``bf16`` or ``int8`` (None: the precision the
            program was exported with).
        use_tensorrt: run supported subgraphs with TensorRT (GPU only).
        gpu_id: the GPU to use.
        gpu_memory_mb: initial GPU memory pool.
        max_batch_size: the largest batch TensorRT's dynamic shapes allow.
        max_length: the longest input TensorRT's dynamic shapes allow.
    """
    device: str = "cpu"
    cpu_threads: int = None
    enable_mkldnn: bool = None
    precision: str = None
    use_tensorrt: bool = False
    gpu_id: int = 0
    gpu_memory_mb: int = 256
    max_batch_size: int = 32
    max_length: int = 512


def default_cpu_threads(environ=None):
    """The thread count the dynamic graph runs with: ``OMP_NUM_THREADS`` when it is a positive
    integer, else None (Paddle's default, 1).

    Paddle reads the variable when it is imported; a Paddle Inference predictor does not (its
    ``cpu_math_library_num_threads`` starts at 1), so without this an exported model would run
    on one thread where the same model in the dynamic graph runs on ``OMP_NUM_THREADS``.
    """
    value = (os.environ if environ is None else environ).get("OMP_NUM_THREADS", "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else None


def resolve_precision(options, exported):
    """The precision to run: the requested one, checked against the exported program's."""
    precision = options.precision or exported
    if precision not in PRECISIONS:
        raise InferenceConfigError(f"precision: expected one of {', '.join(PRECISIONS)}, got "
                                   f"{precision!r}")
    if exported == "int8" and precision != "int8":
        raise InferenceConfigError(f"precision {precision}: this program was exported with "
                                   f"--precision int8 (its weights are quantized); export the "
                                   f"model again for {precision}")
    if precision == "int8" and exported != "int8":
        raise InferenceConfigError("precision int8: this program was exported in "
                                   f"{exported}; int8 needs a calibrated program: "
                                   "tools/export_model.py --precision int8 [--calib_samples N]")
    return precision


def _dynamic_shapes(inputs, options):
    """``(min, max, opt)`` shape dicts for TensorRT: ``None`` dimensions range over batch
    (the first) and sequence length (the others)."""
    lo, hi, opt = {}, {}, {}
    for name, shape, _ in inputs:
        dims = [(1, options.max_batch_size, options.max_batch_size) if i == 0 and d is None
                else (1, options.max_length, max(1, options.max_length // 2)) if d is None
                else (d, d, d) for i, d in enumerate(shape)]
        lo[name] = [d[0] for d in dims]
        hi[name] = [d[1] for d in dims]
        opt[name] = [d[2] for d in dims]
    return lo, hi, opt


def config_calls(options, exported_precision="fp32", inputs=(), cpu_supports_bf16=False):
    """The ``paddle.inference.Config`` calls for ``options``: ``[(method, args), ...]``.

    Args:
        options (InferenceOptions): what the user asked for.
        exported_precision (str): what the program was exported in (``deploy.json``).
        inputs: the program's ``((name, shape, dtype), ...)``, for TensorRT's dynamic shapes.
        cpu_supports_bf16 (bool): whether this CPU runs oneDNN bfloat16
            (``paddle.base.core.supports_bfloat16()``).

    Raises:
        InferenceConfigError: options that cannot work (the message says what would).
    """
    o = options
    if o.device not in DEVICES:
        raise InferenceConfigError(f"device: expected cpu or gpu, got {o.device!r}")
    if o.cpu_threads is not None and (isinstance(o.cpu_threads, bool)
                                      or not isinstance(o.cpu_threads, int)
                                      or o.cpu_threads < 1):
        raise InferenceConfigError(f"cpu_threads: expected an integer >= 1, got "
                                   f"{o.cpu_threads!r}")
    precision = resolve_precision(o, exported_precision)
    calls = []
    if o.device == "cpu":
        if o.use_tensorrt:
            raise InferenceConfigError("use_tensorrt: TensorRT runs on a GPU; add --device gpu")
        mkldnn = o.enable_mkldnn is not False
        if precision == "fp16":
            raise InferenceConfigError("precision fp16: runs on a GPU (--device gpu); on a CPU "
                                       "use bf16 (AVX-512 BF16) or int8")
        if precision in ("bf16", "int8") and not mkldnn:
            raise InferenceConfigError(f"precision {precision}: runs on the CPU through "
                                       f"oneDNN; drop --enable_mkldnn false")
        if precision == "bf16" and not cpu_supports_bf16:
            raise InferenceConfigError("precision bf16: this CPU has no bfloat16 support "
                                       "(AVX-512 BF16, e.g. Xeon Cooper Lake or newer); use "
                                       "fp32 or int8")
        calls.append(("disable_gpu", ()))
        if o.cpu_threads is not None:
            calls.append(("set_cpu_math_library_num_threads", (o.cpu_threads,)))
        calls.append(("enable_mkldnn", ()) if mkldnn else ("disable_mkldnn", ()))
        if precision == "bf16":
            calls.append(("enable_mkldnn_bfloat16", ()))
        elif precision == "int8":
            calls.append(("enable_mkldnn_int8", ()))
    else:
        if o.enable_mkldnn:
            raise InferenceConfigError("enable_mkldnn: oneDNN is a CPU library; on a GPU leave "
                                       "it off")
        if precision == "int8" and not o.use_tensorrt:
            raise InferenceConfigError("precision int8 on a GPU runs through TensorRT; add "
                                       "--use_tensorrt")
        gpu_precision = "fp32" if precision == "int8" else precision
        calls.append(("enable_use_gpu", (o.gpu_memory_mb, o.gpu_id,
                                         ("precision", gpu_precision))))
        if o.use_tensorrt:
            states = [name for name, _, dtype in inputs if dtype != "int64"]
            if states:
                raise InferenceConfigError(
                    f"use_tensorrt: TensorRT's dynamic shapes are set for token inputs "
                    f"(batch first); this program also takes {', '.join(states)} (a decoder "
                    f"state), which it cannot shape: run it without --use_tensorrt")
            calls.append(("enable_tensorrt_engine",
                          (1 << 30, o.max_batch_size, 3, ("precision", precision), False,
                           False)))
            calls.append(("set_trt_dynamic_shape_info", _dynamic_shapes(inputs, o)))
    calls.append(("disable_glog_info", ()))
    return calls


def build_config(program_file, params_file, calls):
    """A ``paddle.inference.Config`` over the exported files with ``calls`` made on it."""
    from paddle import inference

    config = inference.Config(str(program_file), str(params_file))
    for method, args in calls:
        args = [getattr(inference.PrecisionType, PRECISION_TYPES[a[1]])
                if isinstance(a, tuple) and len(a) == 2 and a[0] == "precision" else a
                for a in args]
        getattr(config, method)(*args)
    return config
