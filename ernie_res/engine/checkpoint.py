"""Self-contained checkpoint directories.

A model directory (``best/``, ``latest/``) holds everything needed to use it on its own::

    config.yaml            the resolved config of the run
    labels.json            the label vocabulary (index -> label)
    model_state.pdparams   every weight, backbone included
    backbone/              the backbone's config.json and tokenizer files (no weights), so
                           the architecture is rebuilt without any download
    meta.json              step, epoch and the eval metrics at save time

``latest/`` also holds ``training_state.pdparams``: optimizer, LR scheduler, AMP scaler and
RNG states (Paddle, NumPy, Python) plus the trainer state (step, epoch, batches consumed in
that epoch, best metric, patience), which is what an exact resume needs.

Directories are written to a temporary sibling and renamed into place, so an interrupted
save never leaves a half-written ``best/`` or ``latest/`` behind.
"""
import json
import random
import shutil
from pathlib import Path

import numpy as np
import paddle
import yaml

from ernie_res.models.backbone import save_backbone_files

MODEL_FILE = "model_state.pdparams"
TRAIN_STATE_FILE = "training_state.pdparams"


def _replace_dir(tmp, final):
    final = Path(final)
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    Path(tmp).rename(final)
    if old.exists():
        shutil.rmtree(old)


def save_model_dir(path, model, config, labels, encoder, tokenizer, meta=None,
                   training_state=None):
    """Write a self-contained model directory at ``path`` (atomically)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    paddle.save(model.state_dict(), str(tmp / MODEL_FILE))
    config.dump(tmp / "config.yaml")
    (tmp / "labels.json").write_text(json.dumps(list(labels), ensure_ascii=False, indent=1),
                                     encoding="utf-8")
    save_backbone_files(encoder, tokenizer, tmp / "backbone")
    (tmp / "meta.json").write_text(json.dumps(meta or {}, indent=1), encoding="utf-8")
    if training_state is not None:
        paddle.save(training_state, str(tmp / TRAIN_STATE_FILE))
    _replace_dir(tmp, path)


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
    return {"paddle": paddle.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def set_rng_state(state):
    paddle.set_rng_state(state["paddle"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def load_training_state(model_dir):
    path = Path(model_dir) / TRAIN_STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: resume needs a latest/ directory written "
                                f"by tools/train.py (best/ has no optimizer state)")
    return paddle.load(str(path))


def read_model_dir(model_dir):
    """Return ``(raw config dict, labels, meta)`` of a model directory, checking its files."""
    model_dir = Path(model_dir)
    needed = ["config.yaml", "labels.json", MODEL_FILE, "backbone/config.json"]
    missing = [f for f in needed if not (model_dir / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{model_dir} is not an ernie_res model directory: missing "
                                f"{', '.join(missing)} (use OUT/best or OUT/latest of a "
                                f"tools/train.py run)")
    raw = yaml.safe_load((model_dir / "config.yaml").read_text(encoding="utf-8"))
    labels = json.loads((model_dir / "labels.json").read_text(encoding="utf-8"))
    meta_file = model_dir / "meta.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    return raw, labels, meta
