"""SEQ: named-entity recognition on CoNLL-2003 with our CRF, scored like conlleval.

Features are windows of word pieces. A sentence that fits ``max_seq_len`` is one window,
optionally surrounded by the neighbouring sentences of its document as unlabelled context
(``Data.context: document``, how BERT reached 92.4 on CoNLL-2003); a longer sentence is cut
into overlapping windows of whole words (``data/windows.py``) and each word takes its
prediction from the window where it has the most context. No word is ever dropped.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ernie_res.data.collate import pad_2d
from ernie_res.data.conll import read_conll, tag_labels
from ernie_res.data.tagging import convert_tags, spans
from ernie_res.data.windows import effective_lengths, plan_windows
from ernie_res.metrics.conlleval import ConllEvalMetric
from ernie_res.tasks.base import Task

_WORD = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]", re.UNICODE)
_CONLL_TAG = re.compile(r"^(O|[BIES]-\S+)$")


@dataclass
class SeqDataConfig:
    name: str = field(default="conll2003", metadata={"help": "Dataset reader.",
                                                     "choices": ("conll2003",)})
    root: str = field(default="data/sample/conll2003", metadata={
        "help": "Directory holding the train/dev/test files."})
    train_file: str = field(default="eng.train", metadata={"help": "Training file in root."})
    dev_file: str = field(default="eng.testa", metadata={"help": "Dev file in root."})
    test_file: str = field(default="eng.testb", metadata={"help": "Test file in root."})
    scheme: str = field(default="IOB2", metadata={
        "help": "Tagging scheme the model predicts (files may be IOB1, IOB2 or BIOES).",
        "choices": ("IOB2", "BIOES")})
    max_seq_len: int = field(default=256, metadata={
        "help": "Word pieces per window, [CLS] and [SEP] included."})
    stride_words: int = field(default=0, metadata={
        "help": "Words between the starts of windows of a long sentence (0 = half a window)."})
    context: str = field(default="document", metadata={
        "help": "document fills each window with neighbouring sentences of the same "
                "document as unlabelled context; none encodes the sentence alone.",
        "choices": ("document", "none")})
    max_examples: int = field(default=0, metadata={
        "help": "Use only the first N sentences of each split (0 = all)."})


def split_words(text):
    """``[(word, start, end)]`` for raw text: runs of word characters, each punctuation alone."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


class WindowedConllMetric(ConllEvalMetric):
    """conlleval over whole sentences assembled from window predictions (tag ids)."""

    def __init__(self, labels):
        self.labels = list(labels)
        super().__init__()

    def reset(self):
        super().reset()
        self._pred, self._gold = {}, {}
        self._pred_done = {}     # sentence index -> predicted tags, once scored

    def add_window(self, index, n_words, offset, score, pred_ids, gold_ids):
        pred = self._pred.setdefault(index, [None] * n_words)
        gold = self._gold.setdefault(index, [None] * n_words)
        for j in range(score[0], score[1]):
            pred[offset + j] = self.labels[pred_ids[j]]
            gold[offset + j] = self.labels[gold_ids[j]]

    def _flush(self):
        if self._pred:
            keys = sorted(self._pred)
            assert all(None not in self._pred[k] for k in keys), "a word got no prediction"
            super().update([self._pred[k] for k in keys], [self._gold[k] for k in keys])
            self._pred_done.update(self._pred)
            self._pred, self._gold = {}, {}

    def accumulate(self):
        self._flush()
        out = super().accumulate()
        for kind in self.types():
            if kind:
                p, r, _ = self._prf(self.correct_chunks[kind], self.pred_chunks[kind],
                                    self.gold_chunks[kind])
                out[f"precision_{kind}"], out[f"recall_{kind}"] = p, r
        return out

    def report(self):
        self._flush()
        return super().report()


class SeqTask(Task):
    name = "seq"
    DataConfig = SeqDataConfig

    # -- data
    def load_examples(self, split):
        d = self.data_cfg
        path = self.split_path(split, {"train": d.train_file, "dev": d.dev_file,
                                       "test": d.test_file}, "conll2003")
        examples = read_conll(path, scheme=d.scheme)
        if d.max_examples > 0:
            examples = examples[:d.max_examples]
        n_ent = sum(len(spans(e["tags"], d.scheme)) for e in examples)
        self.log(f"{split}: {len(examples)} sentences, "
                 f"{len({e['doc_id'] for e in examples})} documents, {n_ent} entities "
                 f"from {path}")
        return examples

    def build_labels(self, train_examples):
        return tag_labels(train_examples, scheme=self.data_cfg.scheme)

    def _pieces(self, words):
        unk = self.tokenizer.unk_token_id
        out = []
        for w in words:
            ids = self.tokenizer.convert_tokens_to_ids(self.tokenizer.tokenize(w))
            out.append(ids or [unk])          # a word with no piece still gets one slot
        return out

    def featurize(self, examples, split):
        d = self.data_cfg
        budget = d.max_seq_len - 2
        index = {t: i for i, t in enumerate(self.labels)}
        pieces = [self._pieces(e["words"]) for e in examples]
        feats, n_split = [], 0
        for i, ex in enumerate(examples):
            lengths = effective_lengths([len(p) for p in pieces[i]], budget)
            word_pieces = [p[:n] for p, n in zip(pieces[i], lengths)]
            windows = plan_windows(lengths, budget, d.stride_words or None)
            n_split += len(windows) > 1
            tags = ex.get("tags")
            for w in windows:
                if w.end == w.start:      # an empty line of raw text: nothing to tag
                    continue
                centre = [t for p in word_pieces[w.start:w.end] for t in p]
                left, right = [], []
                if d.context == "document" and len(windows) == 1:
                    left, right = self._context(examples, pieces, i, budget - len(centre))
                ids = [self.tokenizer.cls_token_id] + left + centre + right + \
                    [self.tokenizer.sep_token_id]
                pos, word_index = 1 + len(left), []
                for p in word_pieces[w.start:w.end]:
                    word_index.append(pos)
                    pos += len(p)
                labels = [index.get(t, 0) for t in tags[w.start:w.end]] if tags else \
                    [0] * len(word_index)
                if tags:
                    unknown = [t for t in tags[w.start:w.end] if t not in index]
                    if unknown:
                        raise ValueError(f"SEQ: {ex['id']} has tag {unknown[0]!r}, which is not "
                                         f"among the training tags {self.labels}")
                feats.append({"input_ids": ids, "word_index": word_index, "labels": labels,
                              "index": i, "n_words": len(ex["words"]), "offset": w.start,
                              "score": (w.score_start - w.start, w.score_end - w.start)})
        if n_split:
            self.log(f"{split}: {n_split} sentences longer than {budget} word pieces were "
                     f"split into overlapping windows (no word dropped)")
        return feats

    @staticmethod
    def _context(examples, pieces, i, room):
        """Word pieces of the neighbouring sentences of the same document, up to ``room``."""
        doc = examples[i].get("doc_id")
        before, after = [], []
        j = i - 1
        while j >= 0 and examples[j].get("doc_id") == doc and len(before) < room:
            before = [t for p in pieces[j] for t in p] + before
            j -= 1
        j = i + 1
        while j < len(examples) and examples[j].get("doc_id") == doc and len(after) < room:
            after += [t for p in pieces[j] for t in p]
            j += 1
        take_left = min(len(before), room // 2)
        take_right = min(len(after), room - take_left)
        take_left = min(len(before), room - take_right)
        return before[len(before) - take_left:], after[:take_right]

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
        from ernie_res.models import build_model

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
        from ernie_res.engine.vdl import matrix_image

        if getattr(model, "crf", None) is not None:
            trans = model.crf.transitions.numpy()
            vdl.image("eval/crf_transitions", matrix_image(trans, self.labels,
                                                           "CRF transitions (row -> column)"),
                      step)

    # -- inference
    def read_infer_inputs(self, path):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"input {path} does not exist")
        lines = path.read_text(encoding="utf-8").splitlines()
        self._conll_input = self._looks_like_conll(lines)
        if self._conll_input:
            examples = read_conll(path, scheme=self.data_cfg.scheme)
            for e in examples:
                e["line"] = int(e["id"].rsplit(":", 1)[1])
            return examples, []
        examples = []
        for n, line in enumerate(lines, 1):
            words = split_words(line)
            examples.append({"id": f"{path.name}:{n}", "text": line, "line": n,
                             "words": [w for w, _, _ in words],
                             "offsets": [(s, e) for _, s, e in words]})
        return examples, []

    @staticmethod
    def _looks_like_conll(lines):
        rows = [ln.split() for ln in lines if ln.strip()]
        return bool(rows) and all(len(r) >= 2 and _CONLL_TAG.match(r[-1]) for r in rows[:50])

    def predictions(self, batches, examples, top_k=3):
        metric = WindowedConllMetric(self.labels)
        for out, batch in batches:
            self.update_metric(metric, out, batch)
        records = []
        for i, ex in enumerate(examples):
            tags = metric._pred.get(i, [])
            if self.data_cfg.scheme != "IOB2":
                tags = convert_tags(tags, self.data_cfg.scheme, "IOB2")
            rec = {"id": ex["id"], "words": ex["words"], "tags": tags}
            if "offsets" in ex:
                rec["entities"] = [
                    {"text": ex["text"][ex["offsets"][s][0]:ex["offsets"][e - 1][1]],
                     "type": kind, "start": ex["offsets"][s][0], "end": ex["offsets"][e - 1][1]}
                    for kind, s, e in spans(tags, "IOB2")]
            else:
                rec["gold"] = convert_tags(ex["tags"], self.data_cfg.scheme, "IOB2")
            records.append(rec)
        return records

    def output_text(self, rows):
        if not getattr(self, "_conll_input", False):
            return super().output_text(rows)
        lines = []
        for r in rows:
            lines += [f"{w} {g} {p}" for w, g, p in zip(r["words"], r["gold"], r["tags"])]
            lines.append("")
        return "\n".join(lines) + "\n"
