"""Configs as values: load a YAML file, apply ``-o Section.key=value`` overrides, validate.

The layout follows PaddleClas/PaddleOCR (one YAML section per part, ``-c FILE -o k=v``) with
differences that make mistakes loud instead of silent:

* every section is a dataclass, so an unknown key is an error that names the nearest valid
  key (``Train.epoch`` -> "did you mean Train.epochs?"), and a value of the wrong type, outside
  its choices or outside its range is an error that names the key, what was expected and the
  value;
* checks that span sections (``Model.name`` must suit ``Global.task``; GEN's decoder must be
  long enough for ``Data.max_seq_len``) run here too, before anything heavy is loaded;
* the resolved config is a value that is passed around, never a module global, and derived
  values (``num_labels``, the vocabulary size) are never written back into it.

This module knows no task and no model: the ``Model`` and ``Data`` schemas, which model each
task accepts and the cross-section checks arrive as a ``Schemas`` value
(``ernie_res.api.SCHEMAS`` binds the registries). ``docs/configs.md`` documents every key;
the ``help`` metadata of each field is its one-line description there.
"""
import copy
import dataclasses
import difflib
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml


class ConfigError(ValueError):
    """A config that cannot be used: unknown key, wrong type, bad value or bad override."""


_BOUNDS = {"ge": (">=", lambda v, b: v >= b), "gt": (">", lambda v, b: v > b),
           "le": ("<=", lambda v, b: v <= b), "lt": ("<", lambda v, b: v < b)}


def option(default, help, choices=None, ge=None, gt=None, le=None, lt=None, runtime=False,
           fixed=False, **kw):
    """A dataclass field with its one-line ``help``, and optionally ``choices`` or bounds.

    ``ge``/``gt``/``le``/``lt`` bound a number (for a mapping: each of its values); a value
    outside them is a ``ConfigError`` naming the key, the bound and the value.

    What a trained checkpoint lets ``-o`` change at evaluation and inference: a ``Model`` key
    only when it is ``runtime`` (it changes how the model runs, not what was trained, e.g. the
    VAE's importance samples); any other key unless it is ``fixed`` (the data's meaning, e.g.
    the tagging scheme).
    """
    meta = {"help": help}
    if runtime:
        meta["runtime"] = True
    if fixed:
        meta["fixed"] = True
    if choices is not None:
        meta["choices"] = tuple(choices)
    bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    if bounds:
        meta["bounds"] = bounds
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: copy.deepcopy(d), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


def describe_bounds(bounds):
    """``{"ge": 0, "lt": 1}`` -> ``">= 0 and < 1"``."""
    return " and ".join(f"{_BOUNDS[k][0]} {v}" for k, v in bounds.items())


def _check_bounds(value, bounds, where):
    values = value.values() if isinstance(value, dict) else [value]
    for v in values:
        if v is None:
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{where}: expected a finite number, got {v!r}")
        if not all(test(v, b) for k, b in bounds.items() for test in [_BOUNDS[k][1]]):
            raise ConfigError(f"{where}: expected a value {describe_bounds(bounds)}, got {v!r}")


@dataclass
class GlobalConfig:
    task: str = option("doc", "Task to run; picks the Data schema and the dataset reader.")
    output_dir: str = option("output/run", "Where config.yaml, train.log, vdl/, best/ and latest/ "
                                           "go.")
    overwrite_output_dir: bool = option(False, "Let a new run replace an earlier run's best/, "
                                               "latest/ and vdl/ in output_dir (otherwise it "
                                               "is refused; --resume continues a run).")
    device: str = option("auto", "auto uses a GPU when Paddle has one, else the CPU.",
                         choices=("auto", "cpu", "gpu"))
    num_threads: int = option(0, "CPU math threads (oneDNN/MKL/OpenMP); 0 leaves Paddle's choice, "
                                 "which follows OMP_NUM_THREADS (1 when it is unset).", ge=0)
    seed: int = option(42, "Seed for Python, NumPy and Paddle; also fixes the data order.")
    log_interval: int = option(10, "Log train loss, lr, grad norm and throughput every N steps.",
                               ge=1)


@dataclass
class TrainConfig:
    epochs: int = option(3, "Number of passes over the training set (ignored if max_steps > 0).",
                         ge=1)
    max_steps: int = option(0, "A positive value overrides epochs: train exactly this many steps.",
                            ge=0)
    batch_size: int = option(16, "Examples per optimizer step per device (before accumulation).",
                             ge=1)
    eval_batch_size: int = option(32, "Examples per forward pass during evaluation.", ge=1)
    grad_accum_steps: int = option(1, "Accumulate gradients over N batches per optimizer step.",
                                   ge=1)
    max_grad_norm: float = option(1.0, "Clip gradients to this global L2 norm (0 disables).",
                                  ge=0)
    eval_steps: int = option(0, "Evaluate (and save latest/ and maybe best/) every N steps; "
                                "0 means once per epoch.", ge=0)
    early_stopping_patience: int = option(0, "Stop after N evaluations without improvement of "
                                             "the main metric; 0 disables early stopping.", ge=0)
    amp: bool = option(False, "Automatic mixed precision (GPU only; ignored with a warning on "
                              "CPU).")
    amp_dtype: str = option("float16", "AMP compute dtype.", choices=("float16", "bfloat16"))
    amp_level: str = option("O1", "AMP level: O1 casts white-listed ops, O2 casts the model.",
                            choices=("O1", "O2"))
    num_workers: int = option(0, "DataLoader worker processes (0 = load in the main process).",
                              ge=0)


@dataclass
class OptimizerConfig:
    name: str = option("adamw", "Optimizer (AdamW, Loshchilov & Hutter 2019).", choices=("adamw",))
    lr: float = option(5e-5, "Peak learning rate of the backbone.", gt=0)
    head_lr: typing.Optional[float] = option(None, "Peak learning rate of every parameter outside "
                                                   "the backbone (null = lr).", gt=0)
    group_lrs: typing.Dict[str, float] = option({}, "Per-sub-layer peak learning rates, e.g. "
                                                    "{crf: 0.01}; keys are attribute names of the "
                                                    "model's direct children.", gt=0)
    weight_decay: float = option(0.01, "Decoupled weight decay; never applied to biases and "
                                       "norms.", ge=0)
    beta1: float = option(0.9, "Adam beta1.", ge=0, lt=1)
    beta2: float = option(0.999, "Adam beta2.", ge=0, lt=1)
    epsilon: float = option(1e-8, "Adam epsilon.", gt=0)
    schedule: str = option("linear", "Decay after warm-up.",
                           choices=("linear", "cosine", "constant"))
    warmup_ratio: float = option(0.1, "Fraction of the total steps used for linear warm-up.",
                                 ge=0, le=1)
    warmup_steps: int = option(0, "Warm-up steps; a positive value overrides warmup_ratio.",
                               ge=0)


STATIC_SECTIONS = {"Global": GlobalConfig, "Train": TrainConfig, "Optimizer": OptimizerConfig}
SECTION_ORDER = ("Global", "Model", "Data", "Train", "Optimizer")


class Config:
    """The resolved config: one dataclass instance per section, read-only by convention."""

    def __init__(self, sections):
        self._sections = dict(sections)
        for name, value in sections.items():
            setattr(self, name, value)

    def to_dict(self):
        return {name: dataclasses.asdict(self._sections[name])
                for name in SECTION_ORDER if name in self._sections}

    def dump(self, path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(self.to_dict(), f, sort_keys=False, allow_unicode=True)

    def replace(self, section, **changes):
        """A new Config with some keys of one section changed (the original is untouched)."""
        sections = dict(self._sections)
        sections[section] = dataclasses.replace(sections[section], **changes)
        return Config(sections)


# ----------------------------------------------------------------------------- parsing

def load_yaml(path):
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    with open(path, encoding="utf-8") as f:
        try:
            data = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level, "
                          f"got {type(data).__name__}")
    return data


def apply_overrides(raw, overrides):
    """Apply ``Section.key=value`` strings to a raw dict; values are parsed as YAML."""
    raw = copy.deepcopy(raw)
    for item in overrides or ():
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected Section.key=value")
        key, _, text = item.partition("=")
        parts = key.strip().split(".")
        if len(parts) < 2 or not all(parts):
            raise ConfigError(f"override {item!r}: expected Section.key=value")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"override {item!r}: value is not valid YAML: {e}") from None
        node = raw
        for p in parts[:-1]:
            if node.get(p) is None:
                node[p] = {}
            if not isinstance(node[p], dict):
                raise ConfigError(f"override {item!r}: {p} is not a section")
            node = node[p]
        node[parts[-1]] = value
    return raw


def _type_name(tp):
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value, tp, where):
    """Check ``value`` against the annotation ``tp``; ints are accepted for floats."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)] if args \
            else list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {_coerce(k, args[0], where): _coerce(v, args[1], f"{where}.{k}")
                for k, v in value.items()}
    if tp is float:
        if isinstance(value, str):  # PyYAML (YAML 1.1) reads 1e-4 as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected float, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected int, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected bool (true/false), got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected str, got {value!r}")
        return value
    raise TypeError(f"unsupported config annotation {tp} at {where}")


def build_section(cls, raw, section):
    """Validate the mapping ``raw`` against the dataclass ``cls`` and return an instance."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{section}: expected a mapping of keys, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in raw:
        if key not in fields:
            near = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.5)
            hint = f"; did you mean {section}.{near[0]}?" if near else ""
            raise ConfigError(f"unknown key {section}.{key}{hint} "
                              f"(valid keys: {', '.join(fields)})")
    values = {}
    for name, f in fields.items():
        if name not in raw:
            continue
        value = _coerce(raw[name], hints[name], f"{section}.{name}")
        choices = f.metadata.get("choices")
        if choices is not None and value not in choices:
            raise ConfigError(f"{section}.{name}: expected one of {list(choices)}, "
                              f"got {value!r}")
        if "bounds" in f.metadata:
            _check_bounds(value, f.metadata["bounds"], f"{section}.{name}")
        values[name] = value
    try:
        return cls(**values)
    except ConfigError as e:             # a section's own __post_init__ check
        raise ConfigError(f"{section}.{e}") from None


@dataclass(frozen=True)
class Schemas:
    """What ``resolve`` validates against; ``ernie_res.api.SCHEMAS`` binds the registries.

    Attributes:
        models: ``{Model.name: dataclass}``, the schema of the ``Model`` section.
        data: ``{Global.task: dataclass}``, the schema of the ``Data`` section.
        task_models: ``{Global.task: (Model.name, ...)}``, the models each task can train.
        checks: callables ``check(config)`` that raise ``ConfigError`` for values that are
            wrong together (run after every section is valid on its own).
    """
    models: typing.Mapping[str, type]
    data: typing.Mapping[str, type]
    task_models: typing.Mapping[str, typing.Tuple[str, ...]] = field(default_factory=dict)
    checks: typing.Tuple[typing.Callable, ...] = ()


def _choose(section, key, value, options):
    if value not in options:
        near = difflib.get_close_matches(str(value), list(options), n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ConfigError(f"{section}.{key}: expected one of {sorted(options)}, got "
                          f"{value!r}{hint}")


def resolve(raw, schemas):
    """Validate a raw nested dict into a ``Config``.

    Args:
        raw: ``{section: {key: value}}`` after overrides.
        schemas (Schemas): the ``Model``/``Data`` schemas and the cross-section checks.

    Raises:
        ConfigError: the first problem found, naming the key.
    """
    known = set(SECTION_ORDER)
    for section in raw:
        if section not in known:
            near = difflib.get_close_matches(str(section), list(known), n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise ConfigError(f"unknown section {section}{hint} "
                              f"(valid sections: {', '.join(SECTION_ORDER)})")
    sections = {name: build_section(cls, raw.get(name), name)
                for name, cls in STATIC_SECTIONS.items()}
    task = sections["Global"].task
    _choose("Global", "task", task, schemas.data)
    model_raw = dict(raw.get("Model") or {})
    if "name" not in model_raw:
        raise ConfigError(f"Model.name is required (one of {sorted(schemas.models)})")
    _choose("Model", "name", model_raw["name"], schemas.models)
    allowed = schemas.task_models.get(task)
    if allowed is not None and model_raw["name"] not in allowed:
        raise ConfigError(f"Model.name: {model_raw['name']!r} cannot run Global.task {task!r}; "
                          f"that task takes {', '.join(repr(m) for m in allowed)}")
    sections["Model"] = build_section(schemas.models[model_raw["name"]], model_raw, "Model")
    sections["Data"] = build_section(schemas.data[task], raw.get("Data"), "Data")
    config = Config(sections)
    for check in schemas.checks:
        check(config)
    return config


def override_fields(config, overrides):
    """``[(section, dataclasses.Field)]`` of the keys that ``-o`` overrides set (sub-keys of a
    mapping, ``Optimizer.group_lrs.crf``, count as their mapping's field)."""
    out = []
    for item in overrides or ():
        parts = item.partition("=")[0].strip().split(".")
        section = getattr(config, parts[0], None) if len(parts) >= 2 else None
        fields = {f.name: f for f in dataclasses.fields(section)} if section is not None \
            else {}
        if parts[1:2] and parts[1] in fields:
            out.append((parts[0], fields[parts[1]]))
    return out


def load_config(path=None, overrides=(), raw=None, *, schemas):
    """Load ``path`` (or a ready raw dict), apply ``-o`` overrides and validate with ``schemas``."""
    base = load_yaml(path) if path is not None else copy.deepcopy(raw or {})
    return resolve(apply_overrides(base, overrides), schemas)
