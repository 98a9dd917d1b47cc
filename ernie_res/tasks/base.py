"""The task protocol: what binds a dataset reader, a model head and a metric into a task.

A task turns its dataset files into examples (through a reader in ``data/``), examples into
features (NumPy, one dict per example), features into batches, builds its model (from
``models/``) and metric (from ``metrics/``), and turns model outputs back into prediction
records. The trainer, the evaluation and the tools only ever call the methods below; none of
them branches on the task.

Batch dicts map names to NumPy arrays. Keys that start with ``_`` are bookkeeping (example
indices, ids) and are not passed to the model; every other key is an argument of the
model's ``forward``, ``labels`` included.

Class attributes a task sets: ``name`` (its ``Global.task``), ``DataConfig`` (the schema of
its ``Data`` section), ``model_names`` (the ``Model.name`` values it can train) and
``dataset`` (the ``tools/download_data.py`` name of its benchmark).
"""
import json
from dataclasses import dataclass, fields
from pathlib import Path

from ernie_res.config import ConfigError, option
from ernie_res.data.batching import length_batches
from ernie_res.models import build_model
from ernie_res.predict_options import check_predict_options


@dataclass
class DataConfig:
    """The keys every ``Data`` section has; each task's config adds its own.

    ``root`` has no default: a config that does not say where its data is would otherwise
    train on whatever a default points at (it used to be the bundled synthetic sample). The
    ``*_tiny`` configs set ``data/sample/<dataset>`` explicitly. Each task's ``root`` help
    says what the directory holds; the error quotes it.
    """
    name: str = option("", "Dataset reader.")
    root: str = option("", "Directory holding the data set's files (required).")
    max_seq_len: int = option(512, "Word pieces per model input, [CLS] and [SEP] included.",
                              ge=3)
    max_examples: int = option(0, "Use at most N examples of each split (0 = all); for quick "
                                  "runs.", ge=0)

    def __post_init__(self):
        if not self.root.strip():
            what = next(f for f in fields(self) if f.name == "root").metadata["help"]
            what = what.removesuffix(" (required).").removesuffix(".")
            raise ConfigError(f"root: required, got nothing; expected the "
                              f"{what[0].lower()}{what[1:]} (e.g. -o Data.root=DIR; the "
                              f"*_tiny configs use the bundled samples in data/sample/)")


def no_examples(task, split, source, why=""):
    """The error for an empty split: ``"SEQ: no training examples in FILE (...)"``."""
    what = "training" if split == "train" else split
    return ValueError(f"{task.upper()}: no {what} examples in {source}" + (f" ({why})" if why
                                                                          else ""))


class Task:
    name = None
    DataConfig = DataConfig
    model_names = ()
    dataset = None
    #: the splits ``load_examples`` accepts; the first two are used by training
    splits = ("train", "dev", "test")

    def __init__(self, config, tokenizer, labels=None, logger=None):
        self.config = config
        self.data_cfg = config.Data
        self.tokenizer = tokenizer
        self.labels = list(labels) if labels is not None else None
        self.logger = logger

    def log(self, msg):
        if self.logger is not None:
            self.logger.info(msg)

    # -- checks that need no data and no weights
    @classmethod
    def check_config(cls, config):
        """Raise ``ConfigError`` for values that are wrong together (runs at config load)."""

    @classmethod
    def check_backbone(cls, config, backbone_config):
        """Raise ``ConfigError`` when the backbone cannot take this config (runs once the
        backbone is loaded, before any data is read)."""
        limit = backbone_config.max_position_embeddings
        if config.Data.max_seq_len > limit:
            raise ConfigError(f"Data.max_seq_len: expected at most the backbone's "
                              f"max_position_embeddings = {limit}, got "
                              f"{config.Data.max_seq_len}")

    # -- backbone
    def prepare_backbone(self, encoder):
        """Adapt ``encoder`` and ``self.tokenizer`` before featurising and ``build_model`` (REL
        adds entity-marker tokens). Must be idempotent: it also runs on a reloaded checkpoint."""

    # -- data
    def split_path(self, split, files):
        """``Data.root / files[split]``, or a clear error naming the download command."""
        if split not in files:
            raise ValueError(f"{self.name.upper()}: unknown split {split!r} (expected "
                             f"{', '.join(files)})")
        path = Path(self.data_cfg.root) / files[split]
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: the {self.name} task expects "
                f"{', '.join(dict.fromkeys(files.values()))} "
                f"in Data.root; `python tools/download_data.py {self.dataset} --dest DIR` "
                f"fetches them")
        return path

    def load_examples(self, split):
        """Read one split of the dataset under ``Data.root`` (a list of example dicts)."""
        raise NotImplementedError

    def build_labels(self, train_examples):
        """The label vocabulary, derived from the training examples (never from the config)."""
        raise NotImplementedError

    def featurize(self, examples, split):
        """Tokenise examples into features (list of dicts of NumPy arrays / ints)."""
        raise NotImplementedError

    def collate(self, features):
        """Pad a list of features into a batch dict of NumPy arrays."""
        raise NotImplementedError

    # -- model and metric
    def build_model(self, encoder):
        """The ``Model.name`` model; classifiers only need the label count (the default)."""
        return build_model(self.config.Model, encoder=encoder, num_labels=len(self.labels))

    def build_metric(self):
        raise NotImplementedError

    def update_metric(self, metric, outputs, batch):
        """Feed one evaluated batch (model outputs as NumPy) to the metric."""
        raise NotImplementedError

    def log_eval_visuals(self, vdl, metric, step, model):
        """Extra VisualDL records after an evaluation (PR curves, matrices...)."""

    def answer_text(self, examples, metric):
        """The evaluation's predictions in the benchmark's official answer format."""
        raise ValueError(f"task {self.name!r} has no official answer format")

    # -- inference
    def read_infer_inputs(self, path):
        """Parse a user input file into examples; returns ``(examples, errors)``.

        One entry per input record, in input order (``data/input_lines.py``): an example, a
        blank entry ``{"id", "line", "blank": True}`` (``api.predict`` answers it in place and
        never hands it to ``predict``), or an error ``{"id", "line", "error"}``."""
        raise NotImplementedError

    @staticmethod
    def check_predict_options(options):
        """Raise ``ValueError`` for a ``predict`` option outside its range (``PREDICT_OPTIONS``;
        None means the default)."""
        check_predict_options(options)

    def predict(self, runner, examples, options):
        """One JSON-able record per example (in order).

        ``runner`` runs the model's programs (``engine/runners.py``: eager or Paddle
        Inference; ``run(program, batch) -> outputs``). The default featurises the examples,
        batches them by length (``length_batches``), runs the ``"model"`` program on each
        batch and hands the outputs to ``predictions``, which places each row by its example
        index. A task that produces its records differently (GEN samples sentences)
        overrides this.
        """
        if not examples:
            return []
        feats = self.featurize(examples, "infer")
        batch_size = options.get("batch_size") or self.config.Train.eval_batch_size
        window = options.get("sort_window")
        batches = [(runner.run("model", batch), batch)
                   for batch in length_batches(feats, batch_size, self.collate,
                                               self.feature_length,
                                               32 * batch_size if window is None else window)]
        return self.predictions(batches, examples, top_k=options.get("top_k", 3))

    def feature_length(self, feature):
        """What a feature costs to pad to, for batching by length: its word pieces."""
        return len(feature["input_ids"])

    def record_lines(self, examples, records, options):
        """The input line each record answers (None: none), so that ``api.predict`` can put
        records, error rows and blank rows back in input order.

        By default ``predict`` returns one record per example, in order: record i answers
        ``examples[i]["line"]``. Records are matched by position, never by id (ids may repeat).
        """
        if len(records) != len(examples):
            raise ValueError(f"{self.name.upper()}: expected one record per example, got "
                             f"{len(records)} records for {len(examples)} examples")
        return [e.get("line") for e in examples]

    def predictions(self, batches, examples, top_k=3):
        """Turn ``[(outputs, batch), ...]`` into one JSON-able record per example (in order).

        ``outputs`` holds NumPy arrays; ``batch`` is the collated batch, whose arrays the
        ``paddle.io.DataLoader`` may have turned into tensors (``np.asarray`` reads both).
        Batches come in length order, not input order: rows are placed by ``batch["_index"]``.
        """
        raise NotImplementedError

    def output_text(self, rows):
        """The text ``tools/infer.py`` writes: JSON lines by default."""
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
