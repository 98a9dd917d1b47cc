"""REL: relation classification on SemEval-2010 Task 8 (Hendrickx et al. 2010).

Each sentence has two marked nominals; the model picks one of 19 labels (9 relations x 2
directions + ``Other``) and is scored with the official (9+1)-way directed macro-F1. SemEval
has no dev set: dev is a stratified ``Data.dev_ratio`` hold-out of train, fixed by
``Global.seed``.

Binds ``data/semeval.py`` (reader), ``data/rel_encoding.py`` (entity markers, entity-safe
truncation), ``data/rel_inputs.py`` (inference input), ``models/rel_classifier.py`` and
``metrics/semeval.py``. The entity markers ``[E1] [/E1] [E2] [/E2]`` (Baldini Soares et al.
2019) are added to the tokenizer as special tokens and to the encoder's embeddings
(``prepare_backbone``); the saved checkpoint's ``backbone/`` holds the enlarged tokenizer and
``config.json``, so evaluation and inference tokenise exactly as training did.
"""
import codecs
from dataclasses import dataclass

import numpy as np

from ernie_res.config import option
from ernie_res.data.collate import pad_2d, with_labels
from ernie_res.data.entity_markers import DEFAULT_MARKERS
from ernie_res.data.rel_encoding import encode_marked
from ernie_res.data.rel_inputs import read_rel_inputs
from ernie_res.data.semeval import LABELS, OFFICIAL_SIZES, OTHER, read_semeval, split_label
from ernie_res.data.splits import split_dev
from ernie_res.metrics.plots import matrix_image
from ernie_res.metrics.semeval import SemEvalProbsMetric, answer_text, short_name
from ernie_res.models.backbone import add_marker_tokens
from ernie_res.tasks.base import DataConfig, Task, no_examples


@dataclass
class RelDataConfig(DataConfig):
    name: str = option("semeval2010", "Dataset reader.", ("semeval2010",))
    root: str = option("", "Directory holding the SemEval-2010 Task 8 files train_file and "
                           "test_file (required).")
    max_seq_len: int = option(128, "Word pieces per sentence, [CLS], [SEP] and the 4 markers "
                                   "included; longer sentences keep both entities "
                                   "(entity-safe window).", ge=7)
    max_examples: int = option(0, "Use only the first N examples of each split (0 = all); for "
                                  "quick runs.", ge=0)
    train_file: str = option("TRAIN_FILE.TXT", "Training file in root (four lines per "
                                               "example).")
    test_file: str = option("TEST_FILE_FULL.TXT", "Test file in root: TEST_FILE_FULL.TXT "
                                                  "(labelled), or TEST_FILE.TXT with test_key.")
    test_key: str = option("", "Answer key in root (TEST_FILE_KEY.TXT) for an unlabelled "
                               "test_file; empty = the labels are in test_file.")
    dev_ratio: float = option(0.1, "Stratified fraction of train held out as the dev set.",
                              gt=0, lt=1)


class RelTask(Task):
    name = "rel"
    DataConfig = RelDataConfig
    model_names = ("rel_classifier",)
    dataset = "semeval2010"
    markers = DEFAULT_MARKERS

    def __init__(self, config, tokenizer, labels=None, logger=None):
        super().__init__(config, tokenizer, labels, logger)
        self._train_dev = None

    # -- backbone: entity marker tokens
    def prepare_backbone(self, encoder):
        """Add the 4 marker tokens to ``self.tokenizer`` and rows for them to ``encoder``."""
        try:
            _, note = add_marker_tokens(encoder, self.tokenizer, self.markers)
        except ValueError as err:
            raise ValueError(f"REL: {err}") from None
        if note:
            self.log(note)

    def _marker_ids(self):
        ids = self.tokenizer.convert_tokens_to_ids(list(self.markers))
        if self.tokenizer.unk_token_id in ids:
            raise RuntimeError("REL: the tokenizer has no entity markers; call "
                               "task.prepare_backbone(encoder) first")
        return ids

    # -- data
    def load_examples(self, split):
        d = self.data_cfg
        path = self.split_path(split, {"train": d.train_file, "dev": d.train_file,
                                       "test": d.test_file})
        if not path.read_bytes().removeprefix(codecs.BOM_UTF8).strip():
            raise no_examples(self.name, split, path, "the file is empty")
        if split in ("train", "dev"):
            if self._train_dev is None:
                full = read_semeval(path)
                self._read_note = (f"{len(full)} read from {path} (official size "
                                   f"{OFFICIAL_SIZES.get(d.train_file, 'n/a')})")
                self._train_dev = split_dev(full, d.dev_ratio, self.config.Global.seed)
            examples = self._train_dev[0 if split == "train" else 1]
            if not examples:
                raise ValueError(f"REL: no {split} examples: the stratified Data.dev_ratio = "
                                 f"{d.dev_ratio} hold-out of {path} is empty (a label needs at "
                                 f"least 2 examples to lend one to dev)")
            source = f"stratified {d.dev_ratio} split of {self._read_note}"
        else:
            key = self.split_path(split, {"test": d.test_key}) if d.test_key else None
            examples = read_semeval(path, key_path=key)
            unlabelled = sum(e["label"] is None for e in examples)
            if unlabelled:
                raise ValueError(f"REL: {path} has {unlabelled} unlabelled examples; set "
                                 f"Data.test_key to its answer key (TEST_FILE_KEY.TXT) or use "
                                 f"TEST_FILE_FULL.TXT")
            source = (f"read from {path}" + (f" with key {key}" if key else "")
                      + f" (official size {OFFICIAL_SIZES.get(d.test_file, 'n/a')})")
        if d.max_examples > 0:
            examples = examples[:d.max_examples]
        other = sum(e["label"] == OTHER for e in examples)
        self.log(f"{split}: {len(examples)} examples, {source}; {len(examples) - other} "
                 f"relations, {other} Other")
        return examples

    def build_labels(self, train_examples):
        """The 19 official labels in ``LABELS`` order (the metric's ids), whatever train has."""
        unknown = {e["label"] for e in train_examples} - set(LABELS)
        if unknown:
            raise ValueError(f"REL: expected SemEval labels, got {sorted(unknown)}")
        return list(LABELS)

    def encode(self, ex):
        """``(input_ids, e1_span, e2_span, truncated)`` of one example (``encode_marked``)."""
        return encode_marked(self.tokenizer, ex["text"], ex["e1"], ex["e2"], self.markers,
                             self._marker_ids(), self.data_cfg.max_seq_len)

    def featurize(self, examples, split):
        index = {name: i for i, name in enumerate(self.labels)}
        feats, truncated = [], 0
        for i, ex in enumerate(examples):
            try:
                ids, e1, e2, cut = self.encode(ex)
            except ValueError as err:
                raise ValueError(f"REL: {split} example {ex['id']}: {err}") from None
            truncated += cut
            label = ex.get("label")
            feats.append({"input_ids": ids, "e1_span": e1, "e2_span": e2,
                          "label": index[label] if label is not None else -1, "index": i})
        if truncated:
            self.log(f"{split}: {truncated}/{len(examples)} sentences longer than the "
                     f"{self.data_cfg.max_seq_len - 2}-piece budget (markers included) were "
                     f"windowed around both entities (none dropped, no entity cut)")
        return feats

    def collate(self, features):
        ids = pad_2d([f["input_ids"] for f in features], self.tokenizer.pad_token_id)
        batch = {"input_ids": ids,
                 "attention_mask": pad_2d([[1] * len(f["input_ids"]) for f in features], 0),
                 "e1_span": np.array([f["e1_span"] for f in features], dtype=np.int64),
                 "e2_span": np.array([f["e2_span"] for f in features], dtype=np.int64),
                 "_index": np.array([f["index"] for f in features], dtype=np.int64)}
        return with_labels(batch, features)

    # -- model and metric
    def build_metric(self):
        return SemEvalProbsMetric()

    def update_metric(self, metric, outputs, batch):
        metric.update(outputs["probs"], np.asarray(batch["labels"]),   # the loader gives
                      np.asarray(batch["_index"]))                     # tensors: to NumPy

    def log_eval_visuals(self, vdl, metric, step, model):
        probs, gold = metric.probs, metric.gold
        for k, name in enumerate(self.labels):
            vdl.pr_curve(f"pr_curve/{name}", (gold == k).astype(np.int64), probs[:, k], step)
        vdl.image("eval/confusion_matrix",
                  matrix_image(metric.confusion_matrix(), [short_name(x) for x in self.labels]),
                  step)

    def answer_text(self, examples, metric):
        """The official answer file (``ID<TAB>label``), in example order."""
        pred = metric.predictions_in_order(len(examples))
        return answer_text([e["id"] for e in examples], [self.labels[k] for k in pred])

    # -- inference
    def read_infer_inputs(self, path):
        return read_rel_inputs(path, check=self.encode)   # entities must fit max_seq_len

    def predictions(self, batches, examples, top_k=3):
        probs = [None] * len(examples)
        for out, batch in batches:
            for row, idx in zip(out["probs"], np.asarray(batch["_index"])):
                probs[int(idx)] = row
        records = []
        for ex, row in zip(examples, probs):
            order = np.argsort(-row)[:top_k]
            label = self.labels[order[0]]
            relation, direction = split_label(label)
            records.append({"id": ex["id"], "label": label, "relation": relation,
                            "direction": direction[1:-1] if direction else None,
                            "prob": round(float(row[order[0]]), 6),
                            "e1": ex["text"][ex["e1"][0]:ex["e1"][1]],
                            "e2": ex["text"][ex["e2"][0]:ex["e2"][1]],
                            "top_k": [{"label": self.labels[j], "prob": round(float(row[j]), 6)}
                                      for j in order]})
        return records
