"""What ``tools/train.py``, ``eval.py`` and ``infer.py`` do, as functions (testable in-process)."""
import random
import sys
from pathlib import Path

import numpy as np
import paddle

from ernie_res.config import resolve
from ernie_res.engine import checkpoint
from ernie_res.engine.device import setup
from ernie_res.engine.logging import get_logger
from ernie_res.engine.trainer import Trainer, evaluate, eval_loader, to_numpy, to_tensors
from ernie_res.engine.vdl import VDLWriter
from ernie_res.models.backbone import backbone_from_config, load_backbone


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def train(config, resume=None):
    """Train from a resolved ``Config``; ``resume`` is a ``latest/`` directory or None."""
    from ernie_res.tasks import TASKS

    device, rank, world = setup(config.Global.device)
    out = Path(config.Global.output_dir)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        config.dump(out / "config.yaml")
    logger = get_logger(out / "train.log", rank)
    logger.info(f"ernie_res train: task {config.Global.task}, model {config.Model.name}, "
                f"backbone {config.Model.backbone}, device {device}, world size {world}, "
                f"output {out}")
    seed_everything(config.Global.seed)
    encoder, tokenizer = load_backbone(config.Model.backbone)
    task_cls = TASKS[config.Global.task]
    task = task_cls(config, tokenizer, logger=logger)
    task.prepare_backbone(encoder)  # e.g. REL's marker tokens, before featurising
    train_ex = task.load_examples("train")
    dev_ex = task.load_examples("dev")
    task.labels = task.build_labels(train_ex)
    logger.info(f"{len(task.labels)} labels")
    train_feats = task.featurize(train_ex, "train")
    dev_feats = task.featurize(dev_ex, "dev")
    seed_everything(config.Global.seed)  # the same head init whatever the data loading drew
    model = task.build_model(encoder)
    if resume is not None:
        model.set_state_dict(paddle.load(str(Path(resume) / checkpoint.MODEL_FILE)))
    vdl = VDLWriter(out / "vdl", enabled=rank == 0)
    metric_key = task.build_metric().main_key
    vdl.hparams(config.to_dict(), [f"eval/{metric_key}", "eval/loss"])
    trainer = Trainer(config, task, model, encoder, tokenizer, out, logger, vdl,
                      device=device, rank=rank, world_size=world)
    try:
        state = trainer.fit(train_feats, dev_feats, resume_dir=resume)
    finally:
        vdl.close()
    return state


def load_model_dir(model_dir, overrides=(), device="auto"):
    """Rebuild ``(config, task, model)`` from a self-contained model directory."""
    from ernie_res.config import apply_overrides
    from ernie_res.models import MODEL_CONFIGS
    from ernie_res.tasks import DATA_CONFIGS, TASKS

    raw, labels, meta = checkpoint.read_model_dir(model_dir)
    config = resolve(apply_overrides(raw, overrides), MODEL_CONFIGS, DATA_CONFIGS)
    paddle.set_device(device if device != "auto" else setup("auto")[0])
    encoder, tokenizer = backbone_from_config(Path(model_dir) / "backbone")
    task = TASKS[config.Global.task](config, tokenizer, labels=labels,
                                      logger=get_logger(None))
    task.prepare_backbone(encoder)  # a no-op when backbone/ already holds the changes
    model = task.build_model(encoder)
    model.set_state_dict(paddle.load(str(Path(model_dir) / checkpoint.MODEL_FILE)))
    model.eval()
    return config, task, model, meta


def run_eval(model_dir, split="test", overrides=(), batch_size=None, device="auto"):
    config, task, model, meta = load_model_dir(model_dir, overrides, device)
    examples = task.load_examples(split)
    feats = task.featurize(examples, split)
    if hasattr(model, "set_final_eval"):   # e.g. the VAE's 500-sample IW-NLL
        model.set_final_eval()
    metrics, metric = evaluate(model, task, feats, batch_size or config.Train.eval_batch_size)
    return metrics, metric, task


def run_infer(model_dir, input_path, output_path=None, batch_size=None, top_k=3,
              device="auto", gen_options=None):
    """Predict every input record; returns ``(records, errors)`` and writes JSONL.

    A task with a ``generate`` method (GEN) produces its records from ``gen_options``
    (``mode``, ``num_samples``, decoding settings) and the optional input sentences.
    """
    config, task, model, _ = load_model_dir(model_dir, (), device)
    examples, errors = task.read_infer_inputs(input_path) if input_path else ([], [])
    records = []
    if hasattr(task, "generate"):
        records = task.generate(model, examples, dict(gen_options or {}))
    elif examples:
        feats = task.featurize(examples, "infer")
        batches = []
        with paddle.no_grad():
            for batch in eval_loader(task, feats, batch_size or config.Train.eval_batch_size):
                batches.append((to_numpy(model(**to_tensors(batch))), batch))
        records = task.predictions(batches, examples, top_k=top_k)
    line_of = {e["id"]: e.get("line") or 0 for e in list(examples) + list(errors)}
    rows = records + [{"id": e["id"], "error": e["error"]} for e in errors]
    rows.sort(key=lambda r: line_of.get(r["id"], 0))  # errors stand where their line was
    text = task.output_text(rows)
    if output_path:
        Path(output_path).parent.mkdir(parents=True, exist_ok=True)
        Path(output_path).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return records, errors

