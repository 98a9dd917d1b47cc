"""DOC: document classification on 20 Newsgroups (the ``20news-bydate`` split).

20NG bydate has only train and test; the dev set used for best-model selection and early
stopping is a stratified ``Data.dev_ratio`` hold-out of train, fixed by ``Global.seed``.
"""
import random
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ernie_res.config import option
from ernie_res.data.collate import pad_3d, with_labels
from ernie_res.data.newsgroups import SPLIT_DIRS, read_20ng
from ernie_res.data.splits import label_counts, split_dev
from ernie_res.data.text_input import read_text_inputs
from ernie_res.data.truncation import chunk_windows, head_tail
from ernie_res.metrics.classification import ClassificationMetric
from ernie_res.metrics.plots import matrix_image
from ernie_res.tasks.base import DataConfig, Task
from ernie_res.utils.progress import progress_iter


@dataclass
class DocDataConfig(DataConfig):
    name: str = option("20ng", "Dataset reader.", ("20ng",))
    root: str = option("", "Directory holding 20news-bydate-train/ and 20news-bydate-test/ "
                           "(required).")
    max_seq_len: int = option(512, "Word pieces per window, [CLS] and [SEP] included.", ge=3)
    max_examples: int = option(0, "Use a fixed random subset of N examples of each split (0 = "
                                  "all); for quick runs.", ge=0)
    remove: typing.List[str] = option([], "Parts of each posting to strip, as scikit-learn's "
                                          "fetch_20newsgroups(remove=).")
    dev_ratio: float = option(0.1, "Stratified fraction of train held out as the dev set.",
                              gt=0, lt=1)
    truncation: str = option("head_tail", "head_tail keeps the first head_tokens and the last "
                                          "pieces (Sun et al. 2019); head keeps the start; "
                                          "chunks encodes up to max_chunks windows.",
                             ("head_tail", "head", "chunks"))
    head_tokens: int = option(128, "Leading pieces kept by head_tail (capped at max_seq_len - "
                                   "2: then only the head is kept).", ge=0)
    max_chunks: int = option(4, "Windows per document (chunks).", ge=1)
    chunk_stride: int = option(0, "Distance between window starts in pieces (0 = max_seq_len - "
                                  "2, no overlap).", ge=0)

    def __post_init__(self):
        super().__post_init__()
        self.remove = [str(x) for x in self.remove]


class DocTask(Task):
    name = "doc"
    DataConfig = DocDataConfig
    model_names = ("doc_classifier",)
    dataset = "20ng"

    def __init__(self, config, tokenizer, labels=None, logger=None):
        super().__init__(config, tokenizer, labels, logger)
        self._train_dev = None

    # -- data
    def load_examples(self, split):
        d = self.data_cfg
        if split in ("train", "dev"):
            if self._train_dev is None:
                full = read_20ng(d.root, "train", remove=tuple(d.remove), log=self.log)
                self._train_dev = split_dev(full, d.dev_ratio, self.config.Global.seed)
            examples = self._train_dev[0 if split == "train" else 1]
            if not examples:
                raise ValueError(f"DOC: no {split} examples: the stratified Data.dev_ratio = "
                                 f"{d.dev_ratio} hold-out of "
                                 f"{Path(d.root) / SPLIT_DIRS['train']} is empty (a group needs "
                                 f"at least 2 postings to lend one to dev)")
        elif split == "test":
            examples = read_20ng(d.root, "test", remove=tuple(d.remove), log=self.log)
        else:
            raise ValueError(f"DOC: unknown split {split!r} (expected train, dev or test)")
        if 0 < d.max_examples < len(examples):   # the files are sorted by class: sample
            keep = random.Random(self.config.Global.seed).sample(range(len(examples)),
                                                                  d.max_examples)
            examples = [examples[i] for i in sorted(keep)]
        counts = label_counts(examples)
        empty = sum(1 for e in examples if not e["text"].strip())
        self.log(f"{split}: {len(examples)} documents from {d.root} ({empty} empty after "
                 f"stripping {'/'.join(d.remove) or 'nothing'}); per class: "
                 + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        return examples

    def build_labels(self, train_examples):
        return sorted({e["label"] for e in train_examples})

    def _windows(self, text):
        """``([CLS] window [SEP], ...)``, the document's piece count and how many of its
        pieces the windows cover (overlapping chunks cover fewer than their total length)."""
        d = self.data_cfg
        budget = d.max_seq_len - 2
        ids = self.tokenizer.convert_tokens_to_ids(self.tokenizer.tokenize(text)) if text else []
        if d.truncation == "head_tail":
            windows = [head_tail(ids, budget, min(d.head_tokens, budget))]
            covered = len(windows[0])
        elif d.truncation == "head":
            windows = [ids[:budget]]
            covered = len(windows[0])
        else:
            stride = d.chunk_stride or budget
            windows = chunk_windows(ids, budget, stride, d.max_chunks)
            covered = (len(windows) - 1) * stride + len(windows[-1])
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        return [[cls] + w + [sep] for w in windows], len(ids), covered

    def featurize(self, examples, split):
        index = {name: i for i, name in enumerate(self.labels)}
        feats, truncated = [], 0
        for i, ex in enumerate(progress_iter(examples, self.logger, f"tokenising {split}")):
            windows, n, covered = self._windows(ex["text"])
            truncated += n > covered
            label = ex.get("label")
            if label is not None and label not in index:
                raise ValueError(f"DOC: {split} example {ex['id']} has label {label!r}, which "
                                 f"is not among the {len(self.labels)} training labels")
            feats.append({"windows": windows, "label": index.get(label, -1), "index": i})
        if truncated:
            self.log(f"{split}: {truncated}/{len(examples)} documents longer than the "
                     f"{self.data_cfg.truncation} budget were shortened")
        return feats

    def feature_length(self, feature):
        """Windows, then the longest window: what ``[B, C, T]`` padding costs."""
        return len(feature["windows"]), max(len(w) for w in feature["windows"])

    def collate(self, features):
        ids = pad_3d([f["windows"] for f in features], self.tokenizer.pad_token_id)
        mask = pad_3d([[[1] * len(w) for w in f["windows"]] for f in features], 0)
        batch = {"input_ids": ids, "attention_mask": mask,
                 "_index": np.array([f["index"] for f in features], dtype=np.int64)}
        return with_labels(batch, features)

    # -- model and metric
    def build_metric(self):
        return ClassificationMetric(self.labels)

    def update_metric(self, metric, outputs, batch):
        metric.update(outputs["probs"], batch["labels"])

    def log_eval_visuals(self, vdl, metric, step, model):
        probs, gold = metric.probs, metric.gold
        for k, name in enumerate(self.labels):
            vdl.pr_curve(f"pr_curve/{name}", (gold == k).astype(np.int64), probs[:, k], step)
        vdl.image("eval/confusion_matrix", matrix_image(metric.confusion_matrix(), self.labels),
                  step)

    # -- inference
    def read_infer_inputs(self, path):
        return read_text_inputs(path, log=self.log)

    def predictions(self, batches, examples, top_k=3):
        records = [None] * len(examples)
        rows = ((row, idx) for out, batch in batches
                for row, idx in zip(out["probs"], np.asarray(batch["_index"])))
        for row, idx in rows:
            order = np.argsort(-row)[:top_k]
            ex = examples[int(idx)]
            records[int(idx)] = {"id": ex["id"], "label": self.labels[order[0]],
                                 "prob": round(float(row[order[0]]), 6),
                                 "top_k": [{"label": self.labels[j],
                                            "prob": round(float(row[j]), 6)} for j in order]}
        return records
