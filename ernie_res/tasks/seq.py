"""SEQ: named-entity recognition on CoNLL-2003 with our CRF, scored like conlleval.

Binds ``data/conll.py`` (reader), ``data/seq_features.py`` (windows of word pieces with
document context), ``models/seq_tagger.py`` (ERNIE -> emissions -> ``LinearChainCRF``) and
``metrics/conlleval.py`` (``WindowedConllMetric``: windows reassembled into sentences).
"""
from dataclasses import dataclass

import numpy as np

from ernie_res.config import option
from ernie_res.data.collate import pad_2d
from ernie_res.data.conll import read_conll, tag_labels
from ernie_res.data.seq_features import window_features
from ernie_res.data.seq_inputs import read_seq_inputs
from ernie_res.data.tagging import convert_tags, spans
from ernie_res.metrics.conlleval import WindowedConllMetric
from ernie_res.metrics.plots import matrix_image
from ernie_res.models import build_model
from ernie_res.tasks.base import DataConfig, Task, no_examples


@dataclass
class SeqDataConfig(DataConfig):
    name: str = option("conll2003", "Dataset reader.", ("conll2003",))
    root: str = option("", "Directory holding the CoNLL-2003 files train_file, dev_file and "
                           "test_file (required).")
    max_seq_len: int = option(256, "Word pieces per window, [CLS] and [SEP] included.", ge=3)
    max_examples: int = option(0, "Use only the first N sentences of each split (0 = all).",
                               ge=0)
    train_file: str = option("eng.train", "Training file in root.")
    dev_file: str = option("eng.testa", "Dev file in root.")
    test_file: str = option("eng.testb", "Test file in root.")
    scheme: str = option("IOB2", "Tagging scheme the model predicts (files may be IOB1, IOB2 or "
                                 "BIOES).", ("IOB2", "BIOES"), fixed=True)
    stride_words: int = option(0, "Words between the starts of windows of a long sentence (0 = "
                                  "half a window).", ge=0)
    context: str = option("document", "document fills each window with neighbouring sentences "
                                      "of the same document as unlabelled context; none "
                                      "encodes the sentence alone.", ("document", "none"))


class SeqTask(Task):
    name = "seq"
    DataConfig = SeqDataConfig
    model_names = ("seq_crf",)
    dataset = "conll2003"

    # -- data
    def load_examples(self, split):
        d = self.data_cfg
        path = self.split_path(split, {"train": d.train_file, "dev": d.dev_file,
                                       "test": d.test_file})
        examples = read_conll(path, scheme=d.scheme)
        if not examples:
            raise no_examples(self.name, split, path, "the file holds no sentence")
        if d.max_examples > 0:
            examples = examples[:d.max_examples]
        n_ent = sum(len(spans(e["tags"], d.scheme)) for e in examples)
        self.log(f"{split}: {len(examples)} sentences, "
                 f"{len({e['doc_id'] for e in examples})} documents, {n_ent} entities "
                 f"from {path}")
        return examples

    def build_labels(self, train_examples):
        return tag_labels(train_examples, scheme=self.data_cfg.scheme)

    def featurize(self, examples, split):
        d = self.data_cfg
        feats, n_split = window_features(examples, self.tokenizer,
                                         {t: i for i, t in enumerate(self.labels)},
                                         d.max_seq_len, d.stride_words, d.context)
        if n_split:
            self.log(f"{split}: {n_split} sentences longer than {d.max_seq_len - 2} word "
                     f"pieces were split into overlapping windows (no word dropped)")
        return feats

    def collate(self, features):
        ids = pad_2d([f["input_ids"] for f in features], self.tokenizer.pad_token_id)
        return {"input_ids": ids, "attention_mask": (pad_2d([[1] * len(f["input_ids"])
                                                               for f in features], 0)),
                "word_index": pad_2d([f["word_index"] for f in features], 0),
                "word_mask": pad_2d([[1] * len(f["word_index"]) for f in features], 0),
                "labels": pad_2d([f["labels"] for f in features], 0),
                "_index": np.array([f["index"] for f in features], dtype=np.int64),
                "_n_words": np.array([f["n_words"] for f in features], dtype=np.int64),
                "_offset": np.array([f["offset"] for f in features], dtype=np.int64),
                "_score": np.array([f["score"] for f in features], dtype=np.int64)}

    # -- model and metric
    def build_model(self, encoder):
        return build_model(self.config.Model, encoder=encoder, labels=self.labels,
                           scheme=self.data_cfg.scheme)

    def build_metric(self):
        return WindowedConllMetric(self.labels)

    def update_metric(self, metric, outputs, batch):
        for r in range(len(batch["_index"])):
            metric.add_window(int(batch["_index"][r]), int(batch["_n_words"][r]),
                              int(batch["_offset"][r]), tuple(batch["_score"][r]),
                              outputs["predictions"][r], batch["labels"][r])

    def log_eval_visuals(self, vdl, metric, step, model):
        if model.crf is not None:
            vdl.image("eval/crf_transitions",
                      matrix_image(model.crf.transitions.numpy(), self.labels,
                                   "CRF transitions (row -> column)"), step)

    # -- inference
    def read_infer_inputs(self, path):
        return read_seq_inputs(path, scheme=self.data_cfg.scheme)

    def predictions(self, batches, examples, top_k=3):
        metric = WindowedConllMetric(self.labels)
        for out, batch in batches:
            self.update_metric(metric, out, batch)
        records = []
        for i, ex in enumerate(examples):
            tags = metric.predicted_tags(i)
            if self.data_cfg.scheme != "IOB2":
                tags = convert_tags(tags, self.data_cfg.scheme, "IOB2")
            rec = {"id": ex["id"], "words": ex["words"], "tags": tags}
            if "offsets" in ex:            # raw text: character spans of the text
                rec["entities"] = [
                    {"text": ex["text"][ex["offsets"][s][0]:ex["offsets"][e - 1][1]],
                     "type": kind, "start": ex["offsets"][s][0], "end": ex["offsets"][e - 1][1]}
                    for kind, s, e in spans(tags, "IOB2")]
            elif "tags" in ex:             # CoNLL columns: the gold tags go back out
                rec["gold"] = convert_tags(ex["tags"], self.data_cfg.scheme, "IOB2")
            else:                          # JSONL tokens: word spans, end exclusive
                rec["entities"] = [{"text": " ".join(ex["words"][s:e]), "type": kind,
                                    "word_start": s, "word_end": e}
                                   for kind, s, e in spans(tags, "IOB2")]
            records.append(rec)
        return records

    def output_text(self, rows):
        """CoNLL input gets ``word gold predicted`` columns back (what conlleval reads);
        text input gets JSON lines."""
        if not rows or "gold" not in rows[0]:
            return super().output_text(rows)
        lines = []
        for r in rows:
            lines += [f"{w} {g} {p}" for w, g, p in zip(r["words"], r["gold"], r["tags"])]
            lines.append("")
        return "\n".join(lines) + "\n"
