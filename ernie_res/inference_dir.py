"""The self-contained inference directory: what ``tools/export_model.py`` writes and what a
``Predictor`` (or a server) needs, and nothing else::

    OUT/inference/
        deploy.json               what this is: task, precision, each program's inputs and
                                  outputs, where it was exported from, the versions
        config.yaml               the trained model's config (task and data settings)
        labels.json               the label vocabulary
        tokenizer/                the backbone's tokenizer files (vocab.txt, ...)
        <program>.json            the static graph of each program (PIR), e.g. model.json;
        <program>.pdiparams       GEN has encoder.* and decoder_step.*

No file in it is unpickled and no code in it runs: the programs are Paddle's own graph format,
the rest JSON, YAML and text. Reading it needs neither PaddleNLP nor the training weights.

``export`` writes the directory atomically (``OUT/inference.tmp`` first); it replaces an earlier
inference directory at the same path and refuses any other non-empty directory.
"""
import json
import shutil
from pathlib import Path

import paddle
import yaml

import ernie_res
from ernie_res.api import SCHEMAS, load_model_dir
from ernie_res.config import resolve
from ernie_res.data.batching import in_order
from ernie_res.data.wordpiece import load_tokenizer as load_wordpiece
from ernie_res.engine.checkpoint import swap_in
from ernie_res.engine.export import export_program, export_programs
from ernie_res.engine.quantize import quantize_export

FORMAT = "ernie_res-inference"
VERSION = 1
DEPLOY_FILE = "deploy.json"
#: training examples calibrating an int8 export, by default
CALIB_SAMPLES = 200


class InferenceDirError(ValueError):
    """A directory that is not a usable inference directory."""


def is_inference_dir(path):
    return (Path(path) / DEPLOY_FILE).is_file()


def _check_output(output, model_dir):
    if output.resolve() == Path(model_dir).resolve() or \
            Path(model_dir).resolve() in output.resolve().parents:
        raise InferenceDirError(f"--output {output}: expected a directory outside the model "
                                f"directory {model_dir}")
    if output.exists() and not output.is_dir():
        raise InferenceDirError(f"--output {output}: exists and is not a directory")
    if output.is_dir() and any(output.iterdir()) and not is_inference_dir(output):
        raise InferenceDirError(f"--output {output}: expected a new directory or an earlier "
                                f"inference directory; it holds other files (not replaced)")


def calibration_batches(task, n_samples, batch_size):
    """Model inputs from the first ``n_samples`` training examples (int8 calibration)."""
    examples = task.load_examples("train")[:n_samples]
    return list(in_order(task.featurize(examples, "calibration"), batch_size, task.collate))


def export(model_dir, output, precision="fp32", calib_samples=None, loaded=None):
    """Export a model directory to an inference directory; returns the files written.

    Args:
        model_dir: a trained model directory (``OUT/best``).
        output: the inference directory to write.
        precision: ``fp32``, or ``int8`` (post-training quantization calibrated on
            ``calib_samples`` training examples of the model's ``Data.root``).
        loaded: ``load_model_dir(model_dir)``'s result when the caller has it.
    """
    model_dir, output = Path(model_dir), Path(output)
    if precision not in ("fp32", "int8"):
        raise InferenceDirError(f"precision: expected fp32 or int8 at export (fp16 and bf16 are "
                                f"run-time choices: export fp32), got {precision!r}")
    if calib_samples is not None and precision != "int8":
        raise InferenceDirError("calib_samples: only int8 export is calibrated")
    _check_output(output, model_dir)
    config, task, model, meta = loaded or load_model_dir(model_dir, device="cpu")
    save = export_program
    calibration = None
    if precision == "int8" and set(model.export_programs()) != {"model"}:
        raise InferenceDirError(f"precision int8: calibration runs the training batches "
                                f"through a single 'model' program; "
                                f"{config.Model.name} exports "
                                f"{', '.join(model.export_programs())} (export it in fp32)")
    if precision == "int8":
        n = CALIB_SAMPLES if calib_samples is None else calib_samples
        if n < 1:
            raise InferenceDirError(f"calib_samples: expected an integer >= 1, got {n}")
        batches = calibration_batches(task, n, config.Train.eval_batch_size)

        def save(spec, prefix):
            return quantize_export(spec, batches, prefix)
        calibration = {"split": "train", "samples": sum(len(b["_index"]) for b in batches),
                       "data_root": config.Data.root}
    tmp = output.with_name(output.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        programs, _ = export_programs(model, tmp, save=save)
        shutil.copy(model_dir / "config.yaml", tmp / "config.yaml")
        shutil.copy(model_dir / "labels.json", tmp / "labels.json")
        (tmp / "tokenizer").mkdir()
        for f in sorted((model_dir / "backbone").iterdir()):
            if f.is_file() and f.name != "config.json":
                shutil.copy(f, tmp / "tokenizer" / f.name)
        deploy = {"format": FORMAT, "version": VERSION, "task": config.Global.task,
                  "model": config.Model.name, "precision": precision, "programs": programs,
                  "exported_from": str(model_dir), "step": meta.get("step"),
                  "calibration": calibration, "ernie_res": ernie_res.__version__,
                  "paddle": paddle.__version__}
        (tmp / DEPLOY_FILE).write_text(json.dumps(deploy, indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, output)
    return sorted(str(f) for f in output.rglob("*") if f.is_file())


def _read_json(path, what):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InferenceDirError(f"{path}: expected {what} as UTF-8 JSON ({err})") from None


def read_inference_dir(path):
    """``(config, labels, deploy)`` of an inference directory, checked.

    Raises:
        FileNotFoundError: a file is missing.
        InferenceDirError: the files are not what ``export`` writes.
    """
    path = Path(path)
    needed = [DEPLOY_FILE, "config.yaml", "labels.json", "tokenizer/vocab.txt"]
    missing = [f for f in needed if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{path} is not an ernie_res inference directory: missing "
                                f"{', '.join(missing)} (write one with tools/export_model.py)")
    deploy = _read_json(path / DEPLOY_FILE, "the deploy description")
    if not isinstance(deploy, dict) or deploy.get("format") != FORMAT:
        raise InferenceDirError(f"{path / DEPLOY_FILE}: expected format {FORMAT!r}")
    if deploy.get("version") != VERSION:
        raise InferenceDirError(f"{path / DEPLOY_FILE}: version {deploy.get('version')!r}; "
                                f"this ernie_res reads version {VERSION} (export the model "
                                f"again)")
    for name in deploy.get("programs", {}):
        for f in (f"{name}.json", f"{name}.pdiparams"):
            if not (path / f).is_file():
                raise FileNotFoundError(f"{path} is incomplete: missing {f}")
    try:
        raw = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InferenceDirError(f"{path / 'config.yaml'}: invalid YAML: "
                                f"{str(err).splitlines()[0]}") from None
    labels = _read_json(path / "labels.json", "a list of labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise InferenceDirError(f"{path / 'labels.json'}: expected a list of label strings")
    return resolve(raw, SCHEMAS), labels, deploy


def load_tokenizer(directory, logger=None):
    """The tokenizer of an inference directory: our pure-Python word-piece tokenizer (no
    PaddleNLP import, which takes seconds), or PaddleNLP's when the backbone's tokenizer is
    of another kind."""
    try:
        return load_wordpiece(directory)
    except ValueError as err:
        if logger is not None:
            logger.info(f"{err}; loading it with PaddleNLP")
        from paddlenlp.transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(directory))

