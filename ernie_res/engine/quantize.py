"""Post-training int8 quantization of an exported program for CPU inference (oneDNN).

``quantize_export(spec, calib_batches, prefix)`` writes ``prefix.json`` + ``prefix.pdiparams``:
the program of one ``ExportSpec`` in which every fully connected layer computes in int8
(oneDNN's ``fc`` kernel on int8 inputs, with per-channel int8 weights and fp32 output), fed by
an oneDNN ``quantize`` op. Everything else (embeddings, attention matmuls, softmax, layer
norm, convolutions) stays fp32. ``load_int8_predictor(prefix)`` runs it with Paddle Inference.

Why it is done this way (Paddle 3.3.1, PIR programs):

* Paddle Inference's oneDNN int8 pipeline (``Config.enable_mkldnn_int8``: the
  ``quant_dequant_onednn`` / ``cpu_quantize_placement`` / ``cpu_quantize`` passes) exists only
  for legacy ProgramDesc programs, and ``jit.save`` can no longer trace those for our models
  (``paddle.sum`` and other tensor methods are PIR-only C++ functions).
* On a PIR program, the quantize/dequantize ops that ``paddle.quantization.PTQ`` inserts are
  *removed* by Paddle Inference's ``delete_quant_dequant_linear_op_pass``: the model runs fp32.
  (And ``PTQ.convert``'s layers fail to trace with a dynamic batch dimension.)
* The oneDNN int8 kernels are there (``fc``, ``quantize``), driven by attributes of the oneDNN
  dialect's ops (``scale_in``, ``scale_weights``, ``force_fp32_output``) that no PIR pass sets.

So we let Paddle Inference optimise the fp32 program for oneDNN (``fc`` fusion and the other
passes, exactly as at fp32 serving time), save that program, and set those attributes on its
``onednn_op.fc`` ops, from activation ranges measured on calibration batches in the dynamic
graph (abs-max of each ``nn.Linear``'s input). The weight scales are per output channel.

Weights use 7 bits (+-63), not 8: without VNNI (AVX2, AVX-512F), oneDNN's int8 GEMM adds
pairs of u8*s8 products in int16, which saturates for 8-bit weights; on the AVX2 EPYC this was
developed on, 8-bit weights put the outputs 0.11 (probability) away from an exact simulation of
the same int8 arithmetic, 7-bit ones 0.004. ``weight_bits=8`` is for VNNI machines only.

Two things in Paddle 3.3.1 stop such a program from loading, and ``prepare_int8_runtime()``
(called by ``load_int8_predictor``) works around both, once per process:

* its serializer has no dialect id for ``onednn_op`` (it writes the name, then cannot read it
  back): we add the identity mapping to ``pir::DialectIdMap`` through ``ctypes``;
* a predictor registers the oneDNN dialects only while optimising, after the program is
  loaded: we first create one predictor over a one-layer fp32 program.
"""
import ctypes
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import paddle
import paddle.nn as nn

from ernie_res.engine.export import export_program

#: the weight precisions ``quantize_export`` supports (7: safe without VNNI; see the docstring)
WEIGHT_BITS = (7, 8)
#: activations are quantized to signed 8 bits with this many levels either side of zero
ACTIVATION_LEVELS = 127.0
FC_OP = "onednn_op.fc"
QUANTIZE_OP = "onednn_op.quantize"
_ONEDNN_DIALECT = "onednn_op"
_runtime_ready = False


class QuantizationError(RuntimeError):
    """The model or this Paddle build cannot be quantized or run this way."""


def calibrate(spec, calib_batches):
    """Abs-max of the input of every ``nn.Linear`` that runs, over ``calib_batches``.

    Args:
        spec (ExportSpec): its ``layer`` runs in the dynamic graph (eval mode, no grad).
        calib_batches: an iterable of ``{input name: NumPy array}`` with the spec's inputs.

    Returns:
        dict: ``{weight parameter name: max |input|}``, the key the saved program knows the
        layer by.

    Raises:
        ValueError: no batch, or a batch without one of the spec's inputs.
    """
    names = [name for name, _, _ in spec.inputs]
    layer = spec.layer
    layer.eval()
    ranges = {}

    def observe(linear, inputs):
        peak = float(paddle.abs(inputs[0]).max())
        key = linear.weight.name
        ranges[key] = max(ranges.get(key, 0.0), peak)

    linears = [m for m in [layer, *layer.sublayers()] if isinstance(m, nn.Linear)]
    hooks = [m.register_forward_pre_hook(observe) for m in linears]
    seen = 0
    try:
        with paddle.no_grad():
            for batch in calib_batches:
                missing = [n for n in names if n not in batch]
                if missing:
                    raise ValueError(f"calibration batch {seen}: missing input(s) "
                                     f"{', '.join(missing)}; the program takes "
                                     f"{', '.join(names)}")
                layer(*[paddle.to_tensor(np.asarray(batch[n], dtype=dtype))
                        for n, _, dtype in spec.inputs])
                seen += 1
    finally:
        for hook in hooks:
            hook.remove()
    if not seen:
        raise ValueError("calibration: expected at least one batch, got none")
    return ranges


def quantize_export(spec, calib_batches, out_prefix, weight_bits=7, verify=True):
    """Calibrate, trace and save ``spec`` as an int8 program under ``out_prefix``.

    Args:
        spec (ExportSpec): the program to export (``models/base.py``).
        calib_batches: an iterable of ``{input name: NumPy array}`` (e.g. a few training
            batches); it is read once, before tracing.
        out_prefix (str | Path): writes ``out_prefix.json`` and ``out_prefix.pdiparams``.
        weight_bits (int): 7 (default: no int16 saturation on any x86 CPU) or 8 (only for
            CPUs with VNNI: AVX512_VNNI, AVX_VNNI or AMX).
        verify (bool): load the result and run it on the first calibration batch.

    Returns:
        list: the two files written, like ``export.export_program``.

    Raises:
        ValueError: bad ``weight_bits`` or calibration batches.
        QuantizationError: no fully connected layer to quantize, or the int8 program does
            not run (non-finite outputs).
    """
    if weight_bits not in WEIGHT_BITS:
        raise ValueError(f"weight_bits: expected 7 or 8, got {weight_bits!r}")
    batches = list(calib_batches)
    ranges = calibrate(spec, batches)
    weights = {p.name: p.numpy() for p in spec.layer.parameters() if p.name in ranges}
    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="int8_export_") as tmp:
        tmp = Path(tmp)
        export_program(spec, tmp / "fp32")
        optimized = _onednn_optimized(tmp / "fp32", tmp / "optimized")
        program = json.loads(Path(f"{optimized}.json").read_text(encoding="utf-8"))
        count = quantize_program(program, ranges, weights, 2 ** (weight_bits - 1) - 1)
        if not count:
            raise QuantizationError(
                "int8: no fully connected layer of the optimised program has calibration "
                "data (no nn.Linear ran on the calibration batches, or Paddle fused none "
                "into oneDNN fc ops)")
        Path(f"{out_prefix}.json").write_text(json.dumps(program), encoding="utf-8")
        shutil.copyfile(f"{optimized}.pdiparams", f"{out_prefix}.pdiparams")
    if verify:
        predictor = load_int8_predictor(out_prefix)
        outputs = _run(predictor, spec.inputs, batches[0])
        if not all(np.isfinite(o).all() for o in outputs):
            raise QuantizationError(f"int8: {out_prefix}.json gives non-finite outputs on the "
                                    "first calibration batch")
    return [f"{out_prefix}.json", f"{out_prefix}.pdiparams"]


def quantize_program(program, ranges, weights, weight_levels=63.0):
    """Make the ``onednn_op.fc`` ops of a saved, oneDNN-optimised PIR program (its JSON,
    edited in place) compute in int8; returns how many were.

    An fc whose weight is in ``ranges`` gets an ``onednn_op.quantize`` of its input (one per
    input value, shared by e.g. the query/key/value projections), ``scale_in`` =
    ``127 / range``, ``scale_weights`` = ``weight_levels / max |w|`` per output channel and
    fp32 output (``force_fp32_output``). Others stay fp32. Only the top-level block is
    rewritten (our programs have no control flow).

    Args:
        program (dict): the parsed ``.json`` of ``paddle.jit.save`` / ``save_optim_model``.
        ranges (dict): ``calibrate``'s ``{weight name: max |input|}``.
        weights (dict): ``{weight name: NumPy array}`` of shape ``[in, out]``.
        weight_levels (float): the largest quantized weight magnitude (63 or 127).
    """
    ops = program["program"]["regions"][0]["blocks"][0]["ops"]
    next_id = _max_value_id(program) + 1
    param_names, value_types = {}, {}
    quantized = {}           # input value id -> (quantized value id, scale)
    rewritten, count = [], 0
    for op in ops:
        if op["#"] == "p":                                   # a parameter: [.., .., .., name]
            param_names[op["O"]["%"]] = op["A"][3]
        if op["#"] == FC_OP:
            name = param_names.get(op["I"][1]["%"])
            peak = ranges.get(name, 0.0)
            if name in weights and peak > 0:
                x = op["I"][0]["%"]
                if x not in quantized:
                    scale = ACTIVATION_LEVELS / peak
                    quantized[x] = (next_id, scale)
                    rewritten.append(_quantize_op(x, next_id, value_types.get(x), scale))
                    next_id += 1
                qid, scale = quantized[x]
                w = np.abs(np.asarray(weights[name], dtype=np.float32))
                col_max = w.reshape(-1, w.shape[-1]).max(axis=0)
                scale_w = [float(weight_levels / m) if m > 0 else 1.0 for m in col_max]
                op["I"][0] = {"%": qid}
                _set_attrs(op, scale_in=("0.a_f32", scale),
                           scale_weights=("0.a_array", [{"#": "0.a_f32", "D": s}
                                                        for s in scale_w]),
                           force_fp32_output=("0.a_bool", True),
                           mkldnn_data_type=("0.a_str", "int8"))
                count += 1
        for out in _outputs(op):
            value_types[out["%"]] = out.get("TT")
        rewritten.append(op)
    ops[:] = rewritten
    return count


def quantized_ops(prefix):
    """What makes a saved program int8: ``{"quantize": n, "fc_int8": n, "fc": n}``."""
    program = json.loads(Path(f"{prefix}.json").read_text(encoding="utf-8"))
    ops = program["program"]["regions"][0]["blocks"][0]["ops"]
    fcs = [op for op in ops if op["#"] == FC_OP]
    int8 = [op for op in fcs if _attr(op, "mkldnn_data_type") == "int8"
            and _attr(op, "force_fp32_output") is True]
    return {"quantize": sum(op["#"] == QUANTIZE_OP for op in ops), "fc_int8": len(int8),
            "fc": len(fcs)}


def int8_config(prefix, cpu_threads=None):
    """A ``paddle.inference.Config`` that runs an int8 program: CPU, oneDNN on (its int8
    kernels are oneDNN's). Calls ``prepare_int8_runtime()`` first."""
    from paddle import inference

    prepare_int8_runtime()
    config = inference.Config(f"{prefix}.json", f"{prefix}.pdiparams")
    config.disable_gpu()
    if cpu_threads is not None:
        config.set_cpu_math_library_num_threads(cpu_threads)
    config.enable_mkldnn()
    config.disable_glog_info()
    return config


def load_int8_predictor(prefix, cpu_threads=None):
    """A Paddle Inference predictor over ``quantize_export``'s files."""
    from paddle import inference

    return inference.create_predictor(int8_config(prefix, cpu_threads))


#: the Paddle release the load workaround was written against
TESTED_PADDLE = "3.3"


def prepare_int8_runtime():
    """Let this process load programs that hold oneDNN-dialect ops (see the module
    docstring); idempotent.

    Raises:
        QuantizationError: this Paddle build has no oneDNN or not the expected symbols.
    """
    global _runtime_ready
    if _runtime_ready:
        return
    if not paddle.base.core.is_compiled_with_onednn():
        raise QuantizationError("int8: this Paddle build has no oneDNN")
    if not paddle.__version__.startswith(TESTED_PADDLE + "."):
        # the workaround calls into libpaddle's C++ (std::string layout, a mangled symbol):
        # on another version it could do harm rather than fail, so it is not tried
        raise QuantizationError(f"int8: the oneDNN int8 programs load through a workaround "
                                f"tested on Paddle {TESTED_PADDLE}.x only; this is Paddle "
                                f"{paddle.__version__}. Use fp32 (export without --precision)")
    _add_dialect_id(_ONEDNN_DIALECT, _ONEDNN_DIALECT)
    _register_onednn_dialects()
    _runtime_ready = True


def _onednn_optimized(prefix, directory):
    """Optimise an fp32 program as a oneDNN predictor does, and save the result; returns its
    prefix."""
    from paddle import inference

    config = inference.Config(f"{prefix}.json", f"{prefix}.pdiparams")
    config.disable_gpu()
    config.enable_mkldnn()
    config.disable_glog_info()
    config.enable_save_optim_model(True)
    config.set_optim_cache_dir(str(directory))
    inference.create_predictor(config)
    optimized = Path(directory) / "_optimized"
    if not Path(f"{optimized}.json").is_file():
        raise QuantizationError(f"int8: Paddle Inference saved no optimised program in "
                                f"{directory}")
    return optimized


def _register_onednn_dialects():
    """Create (and drop) a predictor over a one-layer fp32 program with oneDNN on: Paddle
    registers its oneDNN dialects in the process while optimising that program."""
    from paddle import inference

    with tempfile.TemporaryDirectory(prefix="onednn_dialects_") as tmp:
        layer = nn.Linear(1, 1)
        layer.eval()
        net = paddle.jit.to_static(layer, full_graph=True,
                                   input_spec=[paddle.static.InputSpec([None, 1], "float32",
                                                                       "x")])
        paddle.jit.save(net, os.path.join(tmp, "linear"))
        config = inference.Config(os.path.join(tmp, "linear.json"),
                                  os.path.join(tmp, "linear.pdiparams"))
        config.disable_gpu()
        config.enable_mkldnn()
        config.disable_glog_info()
        inference.create_predictor(config)


def _add_dialect_id(name, dialect_id):
    """``pir::DialectIdMap::Instance()->insert(name, dialect_id)`` in libpaddle."""
    try:
        lib = ctypes.CDLL(paddle.base.libpaddle.__file__)     # the copy Python has loaded
        instance = lib["_ZN3pir12DialectIdMap8InstanceEv"]
        insert = lib["_ZN3pir12DialectIdMap6insertERKNSt7__cxx1112basic_stringIcSt11"
                     "char_traitsIcESaIcEEES8_"]
    except (OSError, AttributeError) as e:
        raise QuantizationError(f"int8: cannot register the {name} dialect with this Paddle "
                                f"build ({paddle.__version__}): {e}") from e
    instance.restype = ctypes.c_void_p
    insert.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    insert.restype = None
    key, value = _std_string(name), _std_string(dialect_id)
    insert(instance(), ctypes.addressof(key), ctypes.addressof(value))


def _std_string(text):
    """A libstdc++ (C++11 ABI) ``std::string`` holding a short ``text`` in its own buffer:
    ``{char* data; size_t size; char local[16]}`` with ``data`` pointing at ``local``."""
    raw = text.encode()
    if len(raw) >= 16:
        raise ValueError(f"_std_string: expected fewer than 16 bytes, got {text!r}")
    buf = ctypes.create_string_buffer(32)
    base = ctypes.addressof(buf)
    ctypes.c_void_p.from_address(base).value = base + 16
    ctypes.c_size_t.from_address(base + 8).value = len(raw)
    ctypes.memmove(base + 16, raw, len(raw))
    return buf


def _run(predictor, inputs, batch):
    for name, _, dtype in inputs:
        arr = np.ascontiguousarray(np.asarray(batch[name]), dtype=dtype)
        handle = predictor.get_input_handle(name)
        handle.reshape(arr.shape)
        handle.copy_from_cpu(arr)
    predictor.run()
    return [predictor.get_output_handle(n).copy_to_cpu() for n in predictor.get_output_names()]


def _outputs(op):
    out = op.get("O", [])
    return [v for v in ([out] if isinstance(out, dict) else out)
            if isinstance(v, dict) and "%" in v]


def _max_value_id(node):
    if isinstance(node, dict):
        own = node["%"] if isinstance(node.get("%"), int) else 0
        return max([own, *(_max_value_id(v) for v in node.values())])
    if isinstance(node, list):
        return max([0, *(_max_value_id(v) for v in node)])
    return 0


def _attr(op, name):
    for a in op.get("A", []):
        if isinstance(a, dict) and a.get("N") == name:
            return a["AT"]["D"]
    return None


def _set_attrs(op, **attrs):
    present = {a["N"]: a for a in op["A"] if isinstance(a, dict) and "N" in a}
    for name, (kind, value) in attrs.items():
        if name in present:
            present[name]["AT"] = {"#": kind, "D": value}
        else:
            op["A"].append({"AT": {"#": kind, "D": value}, "N": name})


def _quantize_op(source, result, source_type, scale):
    """``onednn_op.quantize``: fp32 value ``source`` -> int8 value ``result`` (``x * scale``,
    rounded and saturated)."""
    if source_type is None:
        raise QuantizationError(f"int8: the input of an fc op (value {source}) has no type")
    result_type = json.loads(json.dumps(source_type))
    result_type["D"][0] = {"#": "0.t_i8"}
    return {"#": QUANTIZE_OP,
            "A": [{"AT": {"#": "0.a_bool", "D": True}, "N": "is_negative_input"},
                  {"AT": {"#": "0.a_f32", "D": scale}, "N": "scale"},
                  {"AT": {"#": "0.a_f32", "D": 0.0}, "N": "shift"},
                  {"AT": {"#": "0.a_str", "D": "NHWC"}, "N": "output_format"},
                  {"AT": {"#": "0.a_bool", "D": False}, "N": "bfloat16"}],
            "I": [{"%": source}],
            "O": [{"%": result, "TT": result_type}],
            "OA": [{"AT": {"#": "0.a_array", "D": [{"#": "0.a_bool", "D": True}]},
                    "N": "stop_gradient"}]}
