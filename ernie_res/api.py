"""The assembly: config -> task -> model -> engine. What the tools do, as functions.

This is the one module that knows the registries (``TASKS``, ``MODELS``) and the engine
together; the tools are argument parsers over it, and the Python API is it::

    from ernie_res import api

    config = api.load_config("configs/doc/20ng_tiny.yaml", ["Train.max_steps=20"])
    state = api.train(config)                              # OUT/best, OUT/latest, OUT/vdl
    metrics, metric, task = api.evaluate("OUT/best", split="test")
    result = api.predict("OUT/best", "docs.txt")            # result.records, result.text

Export and deployment live one layer up: ``inference_dir.export`` writes an inference
directory, and ``ernie_res.Predictor`` runs either kind of directory.

Everything a run prints goes to standard error and ``OUT/train.log``; results are returned.
"""
import contextlib
import dataclasses
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paddle

from ernie_res.config import ConfigError, Schemas, apply_overrides
from ernie_res.config import load_config as _load_config
from ernie_res.config import override_fields, resolve
from ernie_res.engine import checkpoint, run_dir
from ernie_res.engine.checkpoint import CheckpointError
from ernie_res.engine.device import rank_zero_first, setup, use_device
from ernie_res.engine.evaluation import evaluate as _evaluate
from ernie_res.engine.runners import EagerRunner
from ernie_res.engine.run_dir import RunLock
from ernie_res.engine.trainer import Trainer
from ernie_res.engine.vdl import VDLWriter
from ernie_res.models import MODELS
from ernie_res.models.backbone import backbone_from_config, load_backbone
from ernie_res.tasks import TASKS
from ernie_res.utils.log import get_logger, log_to_file


def _task_checks(config):
    TASKS[config.Global.task].check_config(config)


#: The schemas every config is validated against: the registries' sections, which model
#: each task takes, and each task's cross-section checks.
SCHEMAS = Schemas(models={name: cls.Config for name, cls in MODELS.items()},
                  data={name: cls.DataConfig for name, cls in TASKS.items()},
                  task_models={name: tuple(cls.model_names) for name, cls in TASKS.items()},
                  checks=(_task_checks,))


def load_config(path=None, overrides=(), raw=None):
    """Load a YAML config (or a raw dict), apply ``-o`` overrides and validate it fully."""
    return _load_config(path, overrides, raw, schemas=SCHEMAS)


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def _resume_dir(resume, config, logger):
    """The complete checkpoint to resume from, whose Model and Data match ``config``."""
    resume = Path(resume)
    found = checkpoint.recover(resume, logger)
    if found is None:
        raise CheckpointError(f"nothing to resume: {resume} is not a complete checkpoint (and "
                              f"no complete {resume.name}.tmp/ or {resume.name}.old/ is next "
                              f"to it)")
    raw, _, _ = checkpoint.read_model_dir(found)
    saved = resolve(raw, SCHEMAS).to_dict()
    now = config.to_dict()
    changed = [f"{section}.{key}: {saved[section].get(key)!r} in the checkpoint, "
               f"{now[section].get(key)!r} now"
               for section in ("Global", "Model", "Data")
               for key in sorted(set(saved[section]) | set(now[section]))
               if (section != "Global" or key == "task")
               and saved[section].get(key) != now[section].get(key)]
    if changed:
        raise CheckpointError(f"cannot resume {found} with a different model or data: "
                              + "; ".join(changed)
                              + " (Train and Optimizer keys may change on resume)")
    return found


def train(config, resume=None):
    """Train from a resolved ``Config``; ``resume`` is a ``latest/`` directory or None.

    A new run refuses an output directory that holds an earlier run (unless
    ``Global.overwrite_output_dir``), and two runs never write into one directory at once
    (``engine/run_dir.py``). Returns the trainer state (``best``, ``best_step``,
    ``history``, ...).
    """
    device, rank, world = setup(config.Global.device, config.Global.num_threads)
    out = Path(config.Global.output_dir)
    with RunLock(out) if rank == 0 else contextlib.nullcontext():
        if resume is None and rank == 0:
            run_dir.claim(out, False, config.Global.overwrite_output_dir, get_logger(rank))
        with log_to_file(out / "train.log", rank) as logger:
            if resume is not None:
                resume = _resume_dir(resume, config, logger)
            return _train(config, resume, device, rank, world, out, logger)


def _train(config, resume, device, rank, world, out, logger):
    logger.info(f"ernie_res train: task {config.Global.task}, model {config.Model.name}, "
                f"backbone {config.Model.backbone}, device {device}, world size {world}, "
                f"output {out}" + (f", resuming {resume}" if resume is not None else ""))
    seed_everything(config.Global.seed)
    task_cls = TASKS[config.Global.task]
    # a named backbone downloads on rank 0 only; the other ranks then read its cache
    encoder, tokenizer = rank_zero_first(lambda: load_backbone(config.Model.backbone),
                                         rank, world)
    task_cls.check_backbone(config, encoder.config)
    task = task_cls(config, tokenizer, logger=logger)
    task.prepare_backbone(encoder)  # e.g. REL's marker tokens, before featurising
    train_ex = task.load_examples("train")
    dev_ex = task.load_examples("dev")
    task.labels = task.build_labels(train_ex)
    logger.info(f"{len(task.labels)} labels")
    train_feats = task.featurize(train_ex, "train")
    dev_feats = task.featurize(dev_ex, "dev")
    seed_everything(config.Global.seed)  # the same head init whatever the data drew
    model = task.build_model(encoder)
    if resume is not None:
        checkpoint.load_weights(model, checkpoint.read_weights(resume), resume)
    if rank == 0:
        config.dump(out / "config.yaml")
    vdl = VDLWriter(out / "vdl", enabled=rank == 0)
    metric_key = task.build_metric().main_key
    vdl.hparams(config.to_dict(), [f"eval/{metric_key}", "eval/loss"])
    trainer = Trainer(config, task, model, encoder, tokenizer, out, logger, vdl,
                      device=device, rank=rank, world_size=world)
    try:
        return trainer.fit(train_feats, dev_feats, resume_dir=resume)
    finally:
        vdl.close()


def _refuse_architecture_overrides(saved, overrides):
    """``-o`` at evaluation may change how a checkpoint runs, never what it is."""
    for section, field in override_fields(saved, overrides):
        meta = field.metadata
        if (section == "Model" and not meta.get("runtime")) or meta.get("fixed") \
                or (section, field.name) == ("Global", "task"):
            runtime = [f"Model.{f.name}" for f in dataclasses.fields(saved.Model)
                       if f.metadata.get("runtime")]
            raise ConfigError(f"-o {section}.{field.name}: a trained checkpoint's "
                              f"{'architecture' if section == 'Model' else 'task and data'} "
                              f"is fixed by its config.yaml and cannot change at evaluation "
                              f"or inference"
                              + (f" (Model keys that can: {', '.join(runtime)})"
                                 if section == "Model" and runtime else ""))


def load_model_dir(model_dir, overrides=(), device="auto"):
    """Rebuild ``(config, task, model, meta)`` from a self-contained model directory.

    Loading runs no code from the directory (``engine/checkpoint.py``) and is strict: every
    weight must fit the model its config.yaml builds. The model is in eval mode on
    ``device``; ``overrides`` may change the data (``Data.root=DIR``) and how the model runs
    (the ``runtime`` keys), never its architecture.
    """
    raw, labels, meta = checkpoint.read_model_dir(model_dir)
    _refuse_architecture_overrides(resolve(raw, SCHEMAS), overrides)
    config = resolve(apply_overrides(raw, overrides), SCHEMAS)
    use_device(device, config.Global.num_threads)
    encoder, tokenizer = backbone_from_config(Path(model_dir) / "backbone")
    TASKS[config.Global.task].check_backbone(config, encoder.config)
    task = TASKS[config.Global.task](config, tokenizer, labels=labels, logger=get_logger())
    task.prepare_backbone(encoder)  # a no-op when backbone/ already holds the changes
    model = task.build_model(encoder)
    checkpoint.load_weights(model, checkpoint.read_weights(model_dir), model_dir,
                            hint=f" (labels.json holds {len(labels)} labels)")
    model.eval()
    return config, task, model, meta


def evaluate(model_dir, split="test", overrides=(), batch_size=None, device="auto"):
    """Score a model directory on a split with the model's final evaluation.

    Sampled estimates (the VAE's importance samples) are seeded with ``Global.seed``, so the
    same directory gives the same numbers every time. Returns ``(metrics dict, metric
    object, task)``; ``metric.report()`` is the text report
    and ``task.answer_text(task.load_examples(split), metric)`` the official answer file,
    where the benchmark has one.
    """
    config, task, model, _ = load_model_dir(model_dir, overrides, device)
    feats = task.featurize(task.load_examples(split), split)
    model.set_final_eval()       # e.g. the VAE's 500-sample IW-NLL
    seed_everything(config.Global.seed)   # sampled estimates repeat from run to run
    metrics, metric = _evaluate(model, task, feats, batch_size or config.Train.eval_batch_size)
    return metrics, metric, task


@dataclass
class Predictions:
    """What ``predict`` returns.

    Attributes:
        records: one dict per valid input (or per generated sentence), in input order.
        errors: ``{"id", "line", "error"}`` per input record that could not be read.
        text: one row per input record, in input order, in the task's output format (JSON
            lines, or CoNLL columns for CoNLL input to a tagger): the record's prediction, an
            ``{"id", "error"}`` row for a bad record, an ``{"id", "blank": true}`` row for a
            blank line. Output line N answers input line N. What ``tools/infer.py`` writes.
        blank: ``{"id", "line"}`` per blank input line.
        rows: the rows of ``text`` as dicts (JSON-able), in input order.
    """
    records: list
    errors: list
    text: str
    blank: list = None
    rows: list = None

    def __post_init__(self):
        if self.blank is None:
            self.blank = []


def predict(model_dir, input_path=None, options=None, device="auto"):
    """Predict every record of ``input_path`` with a model directory (eager).

    ``options``: ``batch_size``, ``top_k`` (labels per record), ``strict`` (any bad record
    raises ``ValueError`` listing them, before anything is predicted), ``sort_window``
    (inputs sorted by length within windows of N; 0 keeps input order), and for GEN ``mode``
    (sample, reconstruct, interpolate), ``num_samples``, ``decoding``, ``temperature``,
    ``sample_top_k``, ``top_p``, ``beam_size``, ``max_len``, ``steps``, ``seed``. A value out
    of range (``top_k`` 0, ``top_p`` 1.5...) raises ``ValueError``.

    ``ernie_res.Predictor`` does the same for exported directories too, and on in-memory
    inputs.
    """
    _, task, model, _ = load_model_dir(model_dir, (), device)
    entries, errors = task.read_infer_inputs(input_path) if input_path else ([], [])
    return predict_entries(task, EagerRunner(model), entries, errors, options)


def predict_entries(task, runner, entries, errors, options=None):
    """Predict read input entries (``Task.read_infer_inputs``) with a runner.

    Rows are put in input order by position (the line each record answers,
    ``Task.record_lines``), never by id, so repeated ids keep their order. Blank lines are
    answered by ``{"id", "blank": true}`` rows and never reach the model.
    """
    options = dict(options or {})
    task.check_predict_options(options)
    if options.get("strict") and errors:
        shown = [e["error"] for e in errors[:20]]
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise ValueError(f"strict: {len(errors)} bad input record"
                         f"{'s' if len(errors) != 1 else ''}; nothing predicted or written\n"
                         + "\n".join(shown) + more)
    blank = [e for e in entries if e.get("blank")]
    examples = [e for e in entries if not e.get("blank")]
    records = task.predict(runner, examples, options)
    lines = task.record_lines(examples, records, options)
    rows = list(zip(lines, records))
    rows += [(e.get("line"), {"id": e["id"], "error": e["error"]}) for e in errors]
    rows += [(e.get("line"), {"id": e["id"], "blank": True}) for e in blank]
    rows.sort(key=lambda pair: pair[0] or 0)          # stable: records keep their order
    return Predictions(records, errors, task.output_text([row for _, row in rows]),
                       [{"id": e["id"], "line": e["line"]} for e in blank],
                       [row for _, row in rows])
