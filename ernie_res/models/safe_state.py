"""Saving and loading state without pickle: tensors in safetensors, everything else in JSON.

``paddle.save``/``paddle.load`` pickle, and unpickling a file runs whatever code the file
names, so a ``.pdparams`` someone hands you can execute code the moment it is loaded. Here a
state is split in two files that cannot carry code:

* ``NAME.safetensors``: every tensor and NumPy array, as raw bytes with a JSON header
  (https://github.com/huggingface/safetensors);
* ``NAME.json``: the rest of the nested structure (dicts, lists, numbers, strings, None),
  where each tensor is replaced by ``{"__tensor__": KEY}`` (a Paddle tensor) or
  ``{"__array__": KEY}`` (a NumPy array), ``KEY`` naming its entry in the safetensors file.

Tuples come back as lists; bfloat16 tensors are stored as their raw 16 bits and marked.
Loading checks that every reference resolves and that the safetensors file holds nothing
else. Model weights are one flat safetensors file (``save_tensors``), readable by any
safetensors reader.

Checkpoints written by earlier versions (``*.pdparams``) are weights-only pickles of NumPy
arrays. ``load_legacy_weights`` reads them with an unpickler that admits exactly the three
NumPy callables such a file needs (array reconstruction, ``ndarray``, ``dtype``) and refuses
object arrays, so a planted payload is refused instead of run.
"""
import io
import json
import pickle

import numpy as np
import paddle
from safetensors.numpy import load_file as _np_load_file
from safetensors.numpy import save_file as _np_save_file
from safetensors.paddle import load_file as _pd_load_file
from safetensors.paddle import save_file as _pd_save_file


class UnsafeFileError(ValueError):
    """A file asks to run code (or is not what it claims to be) and was not loaded."""


# ------------------------------------------------------------------------------ nested state
def _split(tree, tensors, prefix):
    if isinstance(tree, paddle.Tensor):
        key = prefix or "_"
        tensors[key] = np.ascontiguousarray(tree.detach().cpu().numpy())
        if tree.dtype == paddle.bfloat16:   # NumPy has no bfloat16: its raw uint16 bits
            return {"__tensor__": key, "dtype": "bfloat16"}
        return {"__tensor__": key}
    if isinstance(tree, np.ndarray):
        key = prefix or "_"
        if tree.dtype.hasobject:
            raise TypeError(f"safe_state: cannot store an object array at {prefix!r}")
        tensors[key] = np.ascontiguousarray(tree)
        return {"__array__": key}
    if isinstance(tree, np.generic):
        return tree.item()
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            if not isinstance(k, str):
                raise TypeError(f"safe_state: expected str keys, got {k!r} at {prefix!r}")
            out[k] = _split(v, tensors, f"{prefix}/{k}" if prefix else k)
        return out
    if isinstance(tree, (list, tuple)):
        return [_split(v, tensors, f"{prefix}/{i}") for i, v in enumerate(tree)]
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    raise TypeError(f"safe_state: cannot store {type(tree).__name__} at {prefix!r}")


def save_state(state, base):
    """Write ``state`` (nested dicts/lists of tensors, arrays and plain values) to
    ``base.json`` and ``base.safetensors``."""
    tensors = {}
    skeleton = _split(state, tensors, "")
    _np_save_file(tensors, f"{base}.safetensors", metadata={"format": "ernie_res"})
    with open(f"{base}.json", "w", encoding="utf-8") as f:
        json.dump(skeleton, f)


def _join(tree, tensors, used, where):
    if isinstance(tree, dict):
        if set(tree) in ({"__tensor__"}, {"__tensor__", "dtype"}, {"__array__"}):
            key = tree.get("__tensor__", tree.get("__array__"))
            if key not in tensors:
                raise UnsafeFileError(f"{where}: refers to tensor {key!r}, which the "
                                      f"safetensors file does not hold")
            used.add(key)
            value = tensors[key]
            if "__array__" in tree:
                return value
            tensor = paddle.to_tensor(value)
            return tensor.view(paddle.bfloat16) if tree.get("dtype") == "bfloat16" else tensor
        return {k: _join(v, tensors, used, where) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_join(v, tensors, used, where) for v in tree]
    return tree


def load_state(base):
    """Read what ``save_state`` wrote. Raises ``UnsafeFileError`` for a file that does not
    parse or whose two halves do not match."""
    json_path, tensor_path = f"{base}.json", f"{base}.safetensors"
    try:
        with open(json_path, encoding="utf-8") as f:
            skeleton = json.load(f)
    except json.JSONDecodeError as err:
        raise UnsafeFileError(f"{json_path}: invalid JSON ({err.msg} at line {err.lineno})") \
            from None
    tensors = load_tensors_numpy(tensor_path)
    used = set()
    state = _join(skeleton, tensors, used, json_path)
    extra = sorted(set(tensors) - used)
    if extra:
        raise UnsafeFileError(f"{tensor_path}: holds tensors {extra[:5]} that {json_path} "
                              f"does not refer to")
    return state


# ------------------------------------------------------------------------------ weights
def save_tensors(tensors, path):
    """A flat ``{name: tensor}`` dict (a state dict) as one safetensors file."""
    _pd_save_file({k: v.detach().cpu() if isinstance(v, paddle.Tensor) else paddle.to_tensor(v)
                   for k, v in tensors.items()}, str(path), metadata={"format": "ernie_res"})


def load_tensors(path):
    """``{name: paddle.Tensor}`` from a safetensors file; a file that is not one raises
    ``UnsafeFileError`` naming it."""
    try:
        return dict(_pd_load_file(str(path)))
    except FileNotFoundError:
        raise
    except Exception as err:       # safetensors raises its own SafetensorError
        raise UnsafeFileError(f"{path}: not a readable safetensors file ({err})") from None


def load_tensors_numpy(path):
    """As ``load_tensors``, as NumPy arrays (no Paddle needed)."""
    try:
        return dict(_np_load_file(str(path)))
    except Exception as err:
        raise UnsafeFileError(f"{path}: not a readable safetensors file ({err})") from None


# ------------------------------------------------------------------------------ legacy pickles
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray")}


def _safe_dtype(*args, **kwargs):
    dtype = np.dtype(*args, **kwargs)
    if dtype.hasobject:
        raise UnsafeFileError("an object array, which could hold code")
    return dtype


class _WeightsUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if (module, name) == ("numpy", "dtype"):
            return _safe_dtype
        raise UnsafeFileError(f"it asks for {module}.{name}")


def load_legacy_weights(path):
    """``{name: np.ndarray}`` from a ``paddle.save``d state dict, without running code.

    Raises:
        UnsafeFileError: the pickle asks for anything but NumPy arrays, or is not a flat
            dict of arrays.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        state = _WeightsUnpickler(io.BytesIO(data)).load()
    except UnsafeFileError as err:
        raise UnsafeFileError(f"{path}: refused to load this pickle: {err}. Only weights "
                              f"(NumPy arrays) are read from old .pdparams files") from None
    except Exception as err:
        raise UnsafeFileError(f"{path}: not a readable weights file ({type(err).__name__}: "
                              f"{err})") from None
    if isinstance(state, dict):     # paddle.save adds this map of parameter names
        names = state.pop("StructuredToParameterName@@", {})
        if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
            raise UnsafeFileError(f"{path}: expected StructuredToParameterName@@ to map "
                                  f"names to names")
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, np.ndarray) for k, v in state.items()):
        raise UnsafeFileError(f"{path}: expected a dict of named arrays (a state dict)")
    return state
