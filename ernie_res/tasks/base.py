"""The task protocol: everything task-specific, so that the trainer and tools stay generic.

A task turns its dataset files into examples, examples into features (NumPy, one dict per
example), features into batches, builds its model and metric, and turns model outputs back
into prediction records. The trainer only ever calls these methods; it never branches on
the task.

Batch dicts map names to NumPy arrays. Keys that start with ``_`` are bookkeeping (example
indices, ids) and are not passed to the model; every other key is an argument of the
model's ``forward``, ``labels`` included.
"""


class Task:
    name = None
    DataConfig = None
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

    # -- backbone
    def prepare_backbone(self, encoder):
        """Adapt ``encoder`` and ``self.tokenizer`` before featurising and ``build_model`` (REL
        adds entity-marker tokens). Must be idempotent: it also runs on a reloaded checkpoint."""

    # -- data
    def split_path(self, split, files, dataset):
        """``Data.root / files[split]``, or a clear error naming the download command."""
        from pathlib import Path

        if split not in files:
            raise ValueError(f"{self.name.upper()}: unknown split {split!r} (expected "
                             f"{', '.join(files)})")
        path = Path(self.data_cfg.root) / files[split]
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: the {self.name} task expects "
                f"{', '.join(dict.fromkeys(files.values()))} "
                f"in Data.root; `python tools/download_data.py {dataset} --dest DIR` fetches "
                f"them")
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
        from ernie_res.models import build_model

        return build_model(self.config.Model, encoder=encoder, num_labels=len(self.labels))

    def build_metric(self):
        raise NotImplementedError

    def update_metric(self, metric, outputs, batch):
        """Feed one evaluated batch (model outputs as NumPy) to the metric."""
        raise NotImplementedError

    def log_eval_visuals(self, vdl, metric, step, model):
        """Extra VisualDL records after an evaluation (PR curves, matrices...)."""

    # -- inference
    def read_infer_inputs(self, path):
        """Parse a user input file into examples; returns ``(examples, errors)``."""
        raise NotImplementedError

    def predictions(self, batches, examples, top_k=3):
        """Turn ``[(outputs, batch), ...]`` (NumPy) into one JSON-able record per example."""
        raise NotImplementedError

    def output_text(self, rows):
        """The text ``tools/infer.py`` writes: JSON lines by default."""
        import json

        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
