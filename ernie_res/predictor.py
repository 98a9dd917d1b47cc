"""``Predictor``: predictions from a trained model directory or an exported inference directory.

::

    from ernie_res import Predictor

    predictor = Predictor("OUT/inference")            # or "OUT/best" (the dynamic graph)
    predictor.predict(["The goalie made forty saves.", "Which library renders polygons?"])
    # [{"id": "input:1", "label": "rec.sport.hockey", "prob": 0.93, "top_k": [...]}, ...]

``path`` is detected: a directory with ``deploy.json`` is an inference directory
(``inference_dir.py``), run by Paddle Inference with oneDNN on the CPU by default; a directory
with ``config.yaml`` is a model directory, run in the dynamic graph. Both run the same programs
(``engine/runners.py``), so they give the same records. ``predict`` takes strings, or the JSON
records ``tools/infer.py`` reads (``{"text": ...}``, REL ``{"text", "e1", "e2"}``, SEQ
``{"tokens": [...]}``), and returns the records ``tools/infer.py`` writes, one per input, in
input order: a prediction, ``{"id", "error"}`` for a bad input, ``{"id", "blank": true}`` for
an empty one.

A predictor is not thread-safe (Paddle Inference predictors are not); a server runs one per
worker or serialises calls (``tools/serve.py``).
"""
import json
import tempfile
from pathlib import Path

from ernie_res import api
from ernie_res.api import Predictions, predict_entries
from ernie_res.engine.device import use_device
from ernie_res.engine.inference_config import (InferenceConfigError, InferenceOptions,
                                               config_calls, default_cpu_threads,
                                               resolve_precision)
from ernie_res.engine.runners import EagerRunner, InferenceRunner
from ernie_res.inference_dir import is_inference_dir, load_tokenizer, read_inference_dir
from ernie_res.tasks import TASKS
from ernie_res.utils.log import get_logger


def _auto_device():
    import paddle

    return "gpu" if paddle.device.cuda.device_count() > 0 else "cpu"


def _cpu_supports_bf16():
    import paddle

    return bool(paddle.base.core.supports_bfloat16())


class Predictor:
    """Predict with a model directory (dynamic graph) or an inference directory.

    Args:
        path: ``OUT/best`` (a trained model directory) or ``OUT/inference`` (written by
            ``tools/export_model.py``).
        device: ``cpu`` or ``gpu`` (``auto``, for a model directory: the GPU when there is one).
        cpu_threads: math-library threads (None: ``OMP_NUM_THREADS``, as the dynamic graph;
            1 when it is unset).
        enable_mkldnn: oneDNN on the CPU (None: on). Inference directories only.
        precision: ``fp32``, ``fp16`` (GPU), ``bf16`` (AVX-512 BF16 CPU or GPU) or ``int8``
            (a program exported with ``--precision int8``); None: the exported precision.
            Inference directories only.
        use_tensorrt: TensorRT subgraphs on the GPU. Inference directories only.
        batch_size: inputs per forward pass (None: the config's ``Train.eval_batch_size``).
        **defaults: default ``predict`` options (``top_k``, ``sort_window``, GEN's ``mode``...).

    Attributes:
        kind: ``"inference"`` or ``"dynamic"``.
        task: the task name (``doc``, ``seq``, ``rel``, ``gen``).
        labels: the label vocabulary.
    """

    def __init__(self, path, device="cpu", cpu_threads=None, enable_mkldnn=None,
                 precision=None, use_tensorrt=False, batch_size=None, **defaults):
        self.path = Path(path)
        self.logger = get_logger()
        self.defaults = dict(defaults, batch_size=batch_size)
        if is_inference_dir(self.path):
            self.kind = "inference"
            self.config, self.labels, self.deploy = read_inference_dir(self.path)
            self.options = InferenceOptions(
                device=_auto_device() if device == "auto" else device,
                cpu_threads=default_cpu_threads() if cpu_threads is None else cpu_threads,
                enable_mkldnn=enable_mkldnn, precision=precision, use_tensorrt=use_tensorrt,
                max_batch_size=batch_size or self.config.Train.eval_batch_size,
                max_length=self.config.Data.max_seq_len)
            exported = self.deploy["precision"]
            bf16 = (resolve_precision(self.options, exported) == "bf16"
                    and self.options.device == "cpu" and _cpu_supports_bf16())
            config_calls(self.options, exported, (), bf16)       # check before loading
            tokenizer = load_tokenizer(self.path / "tokenizer", self.logger)
            self.task_obj = TASKS[self.config.Global.task](self.config, tokenizer,
                                                           labels=self.labels,
                                                           logger=self.logger)
            self.runner = InferenceRunner(
                self.path, self.deploy["programs"],
                lambda inputs: config_calls(self.options, exported, inputs, bf16), exported)
        else:
            self.kind = "dynamic"
            given = {"enable_mkldnn": enable_mkldnn, "use_tensorrt": use_tensorrt or None,
                     "precision": None if precision in (None, "fp32") else precision}
            given = [k for k, v in given.items() if v is not None]
            if given:
                raise InferenceConfigError(
                    f"{', '.join(given)}: settings of Paddle Inference, for exported models; "
                    f"{self.path} is not an inference directory (no deploy.json). Export it "
                    f"first: python tools/export_model.py --model_dir {self.path} --output DIR")
            try:
                self.config, self.task_obj, model, _ = api.load_model_dir(self.path,
                                                                          device=device)
            except FileNotFoundError as err:
                raise FileNotFoundError(f"{err}; nor is it an inference directory (no "
                                        f"deploy.json, from tools/export_model.py)") from None
            if cpu_threads is not None:
                use_device(device, cpu_threads)
            self.labels = self.task_obj.labels
            self.runner = EagerRunner(model)
        self.task = self.config.Global.task

    def _options(self, options):
        merged = {k: v for k, v in self.defaults.items() if v is not None}
        merged.update({k: v for k, v in options.items() if v is not None})
        return merged

    def predict_file(self, path, **options):
        """Predict every record of a file (what ``tools/infer.py --input`` reads); returns
        ``api.Predictions``."""
        entries, errors = self.task_obj.read_infer_inputs(path) if path else ([], [])
        return predict_entries(self.task_obj, self.runner, entries, errors,
                               self._options(options))

    def predict(self, inputs=(), **options):
        """Records for ``inputs`` (a string, or a list of strings and JSON records), one per
        input, in input order; GEN ``mode="sample"`` takes no inputs and returns samples.

        Raises:
            ValueError: an option out of range, or ``strict=True`` and a bad input.
        """
        if isinstance(inputs, (str, dict)):
            inputs = [inputs]
        return self.predict_records(list(inputs), **options).rows

    def predict_records(self, inputs, **options):
        """Like ``predict``, returning the whole ``api.Predictions``; ids default to
        ``input:N``."""
        lines = []
        for n, item in enumerate(inputs, 1):
            if isinstance(item, str) and not item.strip():
                lines.append("")          # blank, as a blank line of a file: a "blank" row
                continue
            if isinstance(item, str):
                item = {"text": item}
            if isinstance(item, dict):
                item = dict(item)
                item.setdefault("id", f"input:{n}")
            # anything else (a number, a list) is the reader's error row, naming input:N
            line = json.dumps(item, ensure_ascii=False)
            try:
                line.encode("utf-8")
            except UnicodeEncodeError as err:
                raise ValueError(f"input:{n}: expected text, got an unpaired surrogate "
                                 f"{line[err.start]!r} (not a character)") from None
            lines.append(line)
        if not lines:
            return self.predict_file(None, **options)
        data = "".join(line + "\n" for line in lines)
        return self.predict_bytes(data.encode("utf-8"), "input", jsonl=True, **options)

    def predict_bytes(self, data, name="stdin", jsonl=None, **options):
        """Predict the records of an in-memory file (``tools/infer.py --input -``).

        ``jsonl`` None: JSON lines when every non-blank line starts with ``{``, else text
        (the task's reader sniffs further, e.g. CoNLL columns for SEQ). Ids and errors name
        the lines ``name:N``.
        """
        if jsonl is None:
            lines = [line.strip() for line in data.split(b"\n") if line.strip()]
            jsonl = bool(lines) and all(line.startswith(b"{") for line in lines)
        with tempfile.TemporaryDirectory(prefix="ernie_res_inputs_") as tmp:
            path = Path(tmp) / (name + (".jsonl" if jsonl else ".txt"))
            path.write_bytes(data)
            try:
                result = self.predict_file(path, **options)
            except ValueError as err:          # e.g. strict: name the input, not the file
                raise ValueError(str(err).replace(str(path), name)) from None
        return _renamed(result, str(path), path.name, name)


def _renamed(result, tmp_path, file_name, name):
    """Ids and errors name the lines of ``name`` (``input:3``), not the temporary file."""
    def fix(row):
        row = dict(row)
        if "error" in row:
            row["error"] = row["error"].replace(tmp_path, name)
        if "id" in row:                  # also GEN's "a->b:k" interpolation ids
            row["id"] = str(row["id"]).replace(file_name + ":", name + ":")
        return row
    rows = [fix(r) for r in result.rows]
    text = (result.text.replace(json.dumps(tmp_path)[1:-1], name)
            .replace(f'"{file_name}:', f'"{name}:'))
    return Predictions(result.records, [fix(e) for e in result.errors], text,
                       [fix(b) for b in result.blank], rows)
