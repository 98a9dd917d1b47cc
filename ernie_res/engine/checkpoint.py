"""Self-contained, safe and strict checkpoint directories.

A model directory (``best/``, ``latest/``) holds everything needed to use it on its own::

    config.yaml                 the resolved config of the run
    labels.json                 the label vocabulary (index -> label)
    model.safetensors           every weight, backbone included
    backbone/                   the backbone's config.json and tokenizer files (no weights), so
                                the architecture is rebuilt without any download
    meta.json                   step, epoch and the eval metrics at save time
    COMPLETE                    written last: the directory is whole

``latest/`` also holds ``training_state.json`` + ``training_state.safetensors``: optimizer,
LR scheduler, AMP scaler and RNG states (Paddle, NumPy, Python) plus the trainer state (step,
epoch, batches consumed in that epoch, best metric, patience), which is what an exact resume
needs.

**Nothing here unpickles.** Weights and states are safetensors and JSON (``safe_state.py``),
which cannot carry code. Directories from earlier versions (``model_state.pdparams``) are
read through a restricted unpickler that admits NumPy arrays only; their pickled training
state is refused (resume needs a directory written by this version).

**Loading is strict.** A missing, unexpected or mis-shaped weight is an error that names
the keys; nothing runs on partly random weights.

**Saving is atomic.** A directory is written to ``NAME.tmp``, completed with ``COMPLETE``,
then swapped in (``NAME`` -> ``NAME.old``, ``NAME.tmp`` -> ``NAME``, ``NAME.old`` removed).
A kill at any point leaves a complete copy that ``recover`` puts back in place, and a failed
write (a full disk) removes its ``.tmp`` and leaves the previous directory intact.
"""
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import paddle
import yaml

from ernie_res.models.safe_state import (UnsafeFileError, load_legacy_weights, load_state,
                                         load_tensors, save_state, save_tensors)
from ernie_res.models.backbone import save_backbone_files

WEIGHTS_FILE = "model.safetensors"
TRAIN_STATE = "training_state"             # .json + .safetensors
COMPLETE = "COMPLETE"
LEGACY_WEIGHTS_FILE = "model_state.pdparams"
LEGACY_TRAIN_STATE_FILE = "training_state.pdparams"
FORMAT = 2


class CheckpointError(ValueError):
    """A checkpoint that cannot be written, read or used as asked (the message says why)."""


# ------------------------------------------------------------------------------ writing
def _check_finite(model):
    bad = [n for n, p in model.state_dict().items()
           if paddle.is_floating_point(p) and not bool(paddle.isfinite(p).all())]
    if bad:
        raise CheckpointError(f"refusing to save non-finite weights ({', '.join(bad[:5])}"
                              f"{' ...' if len(bad) > 5 else ''})")


def save_model_dir(path, model, config, labels, encoder, tokenizer, meta=None,
                   training_state=None):
    """Write a self-contained model directory at ``path`` (atomically).

    Raises:
        CheckpointError: non-finite weights (nothing is written), or the write failed (a full
            disk): the partial ``.tmp`` is removed and the previous directory stays intact.
    """
    _check_finite(model)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        save_tensors(model.state_dict(), tmp / WEIGHTS_FILE)
        config.dump(tmp / "config.yaml")
        (tmp / "labels.json").write_text(json.dumps(list(labels), ensure_ascii=False, indent=1),
                                         encoding="utf-8")
        save_backbone_files(encoder, tokenizer, tmp / "backbone")
        (tmp / "meta.json").write_text(json.dumps(meta or {}, indent=1), encoding="utf-8")
        if training_state is not None:
            save_state(training_state, tmp / TRAIN_STATE)
        (tmp / COMPLETE).write_text(json.dumps({"format": FORMAT,
                                                "step": (meta or {}).get("step")}),
                                    encoding="utf-8")
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(f"could not write {path}: {err.strerror or err} ({tmp} removed; "
                              f"the previous {path.name}/ is intact)") from None
    swap_in(tmp, path)


def _fsync_dir(path):
    """Flush a directory entry (after a rename) where the platform allows it."""
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def swap_in(tmp, final):
    """Replace ``final`` by the directory ``tmp`` (the old one is kept as ``.old`` until the
    rename is done, so a crash leaves one whole copy)."""
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    _fsync_dir(final.parent)
    if old.exists():
        shutil.rmtree(old)


def is_complete(path):
    return (Path(path) / COMPLETE).is_file()


def _step_of(path):
    try:
        return json.loads((Path(path) / COMPLETE).read_text(encoding="utf-8")).get("step") or 0
    except (OSError, ValueError):
        return -1


def recover(path, logger=None):
    """Put a complete copy back at ``path`` after a save was interrupted.

    If ``path`` is missing, the complete one of ``path.tmp`` (newer) and ``path.old`` with
    the higher step is renamed into place; an incomplete ``.tmp`` is removed. Returns
    ``path`` when a complete directory is (now) there, else None.
    """
    path = Path(path)
    tmp, old = (path.with_name(path.name + s) for s in (".tmp", ".old"))
    if not path.exists():
        candidates = [p for p in (tmp, old) if is_complete(p)]
        if candidates:
            best = max(candidates, key=_step_of)
            best.rename(path)
            if logger is not None:
                logger.warning(f"{path}: an interrupted save left {best.name}/ complete; "
                               f"restored it as {path.name}/")
    if tmp.exists() and not is_complete(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
    return path if path.is_dir() and (is_complete(path) or _is_legacy(path)) else None


# ------------------------------------------------------------------------------ reading
def _is_legacy(path):
    path = Path(path)
    return (path / LEGACY_WEIGHTS_FILE).is_file() and not (path / WEIGHTS_FILE).is_file()


def _read_json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: invalid JSON ({err.msg} at line {err.lineno})") \
            from None
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: expected UTF-8 JSON") from None


def read_model_dir(model_dir):
    """Return ``(raw config dict, labels, meta)`` of a model directory, checking its files."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir} is not a directory (use OUT/best or OUT/latest "
                                f"of a tools/train.py run)")
    weights = LEGACY_WEIGHTS_FILE if _is_legacy(model_dir) else WEIGHTS_FILE
    needed = ["config.yaml", "labels.json", weights, "backbone/config.json"]
    missing = [f for f in needed if not (model_dir / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{model_dir} is not an ernie_res model directory: missing "
                                f"{', '.join(missing)} (use OUT/best or OUT/latest of a "
                                f"tools/train.py run)")
    if weights == WEIGHTS_FILE and not is_complete(model_dir):
        raise CheckpointError(f"{model_dir} is incomplete (no {COMPLETE} marker): a save was "
                              f"interrupted; use the complete copy next to it "
                              f"({model_dir.name}.old/ or {model_dir.name}.tmp/), or resume, "
                              f"which restores it")
    try:
        raw = yaml.safe_load((model_dir / "config.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise CheckpointError(f"{model_dir / 'config.yaml'}: invalid YAML: "
                              f"{str(err).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{model_dir / 'config.yaml'}: expected a mapping of sections")
    labels = _read_json(model_dir / "labels.json")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise CheckpointError(f"{model_dir / 'labels.json'}: expected a list of label strings")
    meta_file = model_dir / "meta.json"
    meta = _read_json(meta_file) if meta_file.is_file() else {}
    return raw, labels, meta


def read_weights(model_dir):
    """``{name: tensor or array}`` of a model directory, without running code."""
    model_dir = Path(model_dir)
    try:
        if _is_legacy(model_dir):
            return load_legacy_weights(model_dir / LEGACY_WEIGHTS_FILE)
        return load_tensors(model_dir / WEIGHTS_FILE)
    except UnsafeFileError as err:
        raise CheckpointError(str(err)) from None


def load_weights(model, weights, source, hint=""):
    """Set ``model``'s weights from ``{name: tensor}``, strictly.

    Raises:
        CheckpointError: names every missing, unexpected and mis-shaped key (``hint`` is
            appended, e.g. what labels.json holds).
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    shapes = sorted(f"{k} {list(weights[k].shape)} (model: {list(expected[k].shape)})"
                    for k in set(expected) & set(weights)
                    if list(weights[k].shape) != list(expected[k].shape))
    if missing or unexpected or shapes:
        parts = [f"{name}: {', '.join(keys[:8])}{' ...' if len(keys) > 8 else ''}"
                 for name, keys in (("missing", missing), ("unexpected", unexpected),
                                    ("shape mismatch", shapes)) if keys]
        raise CheckpointError(f"{source}: the weights do not fit the model built from its "
                              f"config.yaml ({'; '.join(parts)}){hint}")
    model.set_state_dict(weights)


# ------------------------------------------------------------------------------ training state
def _rename_keys(state, mapping):
    """Rename optimizer-state keys ``<param name>_<suffix>`` through ``mapping``.

    Paddle keys optimizer state by auto-generated parameter names (``linear_12.w_0``), which
    differ between processes and even between two models built in one process. We store the
    state under structured names (``classifier.weight``) and map back on load.
    """
    names = sorted(mapping, key=len, reverse=True)
    out = {}
    for key, value in state.items():
        if isinstance(value, dict):  # master_weights: {param name: tensor}
            out[key] = _rename_keys(value, mapping)
            continue
        new = key
        for n in names:
            if key == n or key.startswith(n + "_"):
                new = mapping[n] + key[len(n):]
                break
        out[new] = value
    return out


def optimizer_state_to_save(optimizer, model):
    to_struct = {p.name: "@" + n for n, p in model.named_parameters()}
    return _rename_keys(optimizer.state_dict(), to_struct)


def optimizer_state_to_load(state, model):
    to_param = {"@" + n: p.name for n, p in model.named_parameters()}
    return _rename_keys(state, to_param)


def rng_state():
    """The Paddle, NumPy and Python generators' states, in forms JSON and arrays can hold."""
    return {"paddle": [s.__getstate__() for s in paddle.get_rng_state()],
            "numpy": list(np.random.get_state()),
            "python": random.getstate()}


def set_rng_state(state):
    generators = []
    for saved in state["paddle"]:
        restored = paddle.base.core.GeneratorState.__new__(paddle.base.core.GeneratorState)
        restored.__setstate__(tuple(saved))
        generators.append(restored)
    paddle.set_rng_state(generators)
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss),
                         float(cached)))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def load_training_state(model_dir):
    model_dir = Path(model_dir)
    if (model_dir / LEGACY_TRAIN_STATE_FILE).is_file() \
            and not (model_dir / f"{TRAIN_STATE}.json").is_file():
        raise CheckpointError(f"{model_dir / LEGACY_TRAIN_STATE_FILE} is a pickle written by "
                              f"an earlier version; it is not loaded because a pickle can run "
                              f"code. Start a new run, or keep using {model_dir} for "
                              f"tools/eval.py and tools/infer.py (its weights load safely)")
    if not (model_dir / f"{TRAIN_STATE}.json").is_file():
        raise FileNotFoundError(f"{model_dir / TRAIN_STATE}.json not found: resume needs a "
                                f"latest/ directory written by tools/train.py (best/ has no "
                                f"optimizer state)")
    try:
        return load_state(model_dir / TRAIN_STATE)
    except UnsafeFileError as err:
        raise CheckpointError(str(err)) from None
