"""The assembly: config -> task -> model -> engine. What the tools do, as functions.

This is the one module that knows the registries (``TASKS``, ``MODELS``) and the engine
together; the tools are argument parsers over it, and the Python API is it::

    from ernie_res import api

    config = api.load_config("configs/doc/20ng_tiny.yaml", ["Train.max_steps=20"])
    state = api.train(config)                              # OUT/best, OUT/latest, OUT/vdl
    metrics, metric, task = api.evaluate("OUT/best", split="test")
    result = api.predict("OUT/best", "docs.txt")            # result.records, result.text
    api.export("OUT/best", "OUT/inference/model")

Everything a run prints goes to standard error and ``OUT/train.log``; results are returned.
"""
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paddle

from ernie_res.config import Schemas, apply_overrides
from ernie_res.config import load_config as _load_config
from ernie_res.config import resolve
from ernie_res.engine import checkpoint
from ernie_res.engine.device import setup, use_device
from ernie_res.engine.evaluation import evaluate as _evaluate
from ernie_res.engine.export import export as _export
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


def train(config, resume=None):
    """Train from a resolved ``Config``; ``resume`` is a ``latest/`` directory or None.

    Returns the trainer state (``best``, ``best_step``, ``history``, ...).
    """
    device, rank, world = setup(config.Global.device, config.Global.num_threads)
    out = Path(config.Global.output_dir)
    with log_to_file(out / "train.log", rank) as logger:
        logger.info(f"ernie_res train: task {config.Global.task}, model {config.Model.name}, "
                    f"backbone {config.Model.backbone}, device {device}, world size {world}, "
                    f"output {out}")
        seed_everything(config.Global.seed)
        task_cls = TASKS[config.Global.task]
        encoder, tokenizer = load_backbone(config.Model.backbone)
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
            model.set_state_dict(paddle.load(str(Path(resume) / checkpoint.MODEL_FILE)))
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


def load_model_dir(model_dir, overrides=(), device="auto"):
    """Rebuild ``(config, task, model, meta)`` from a self-contained model directory.

    The model is in eval mode on ``device``; ``overrides`` change the saved config (e.g.
    ``Data.root=DIR`` to evaluate on another copy of the data).
    """
    raw, labels, meta = checkpoint.read_model_dir(model_dir)
    config = resolve(apply_overrides(raw, overrides), SCHEMAS)
    use_device(device, config.Global.num_threads)
    encoder, tokenizer = backbone_from_config(Path(model_dir) / "backbone")
    task = TASKS[config.Global.task](config, tokenizer, labels=labels, logger=get_logger())
    task.prepare_backbone(encoder)  # a no-op when backbone/ already holds the changes
    model = task.build_model(encoder)
    model.set_state_dict(paddle.load(str(Path(model_dir) / checkpoint.MODEL_FILE)))
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
        errors: ``{"id", "line", "error"}`` per input line that could not be read.
        text: records and errors in input order, in the task's output format (JSON lines,
            or CoNLL columns for CoNLL input to a tagger): what ``tools/infer.py`` writes.
    """
    records: list
    errors: list
    text: str


def predict(model_dir, input_path=None, options=None, device="auto"):
    """Predict every record of ``input_path`` with a model directory.

    ``options``: ``batch_size``, ``top_k`` (labels per record), and for GEN ``mode`` (sample,
    reconstruct, interpolate), ``num_samples``, ``decoding``, ``temperature``,
    ``sample_top_k``, ``top_p``, ``beam_size``, ``max_len``, ``steps``, ``seed``.
    """
    options = dict(options or {})
    _, task, model, _ = load_model_dir(model_dir, (), device)
    examples, errors = task.read_infer_inputs(input_path) if input_path else ([], [])
    records = task.predict(model, examples, options)
    line_of = {e["id"]: e.get("line") or 0 for e in list(examples) + list(errors)}
    rows = records + [{"id": e["id"], "error": e["error"]} for e in errors]
    rows.sort(key=lambda r: line_of.get(r["id"], 0))  # errors stand where their line was
    return Predictions(records, errors, task.output_text(rows))


def export(model_dir, out_prefix):
    """Export a model directory for Paddle Inference; returns the files written."""
    _, _, model, _ = load_model_dir(model_dir, device="cpu")
    return _export(model, out_prefix)
