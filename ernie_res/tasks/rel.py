"""REL: relation classification on SemEval-2010 Task 8 (Hendrickx et al. 2010).

Each sentence has two marked nominals; the model picks one of 19 labels (9 relations x 2
directions + ``Other``) and is scored with the official (9+1)-way directed macro-F1
(``ernie_res.metrics.semeval``). SemEval has no dev set: dev is a stratified
``Data.dev_ratio`` hold-out of train, fixed by ``Global.seed``.

Entity markers (Baldini Soares et al. 2019): ``[E1] [/E1] [E2] [/E2]`` are *added* to the
tokenizer as special tokens and the encoder's word embeddings are resized, the 4 new rows set
to the mean of the existing rows (``prepare_backbone``). The saved checkpoint's ``backbone/``
holds the tokenizer with the markers and the enlarged ``config.json``, so evaluation and
inference tokenise exactly as training did; ``prepare_backbone`` is a no-op there.

Truncation never cuts an entity: when a marked sentence is longer than ``max_seq_len - 2``
pieces, ``entity_safe_window(..., squeeze=True)`` keeps both entities with their markers
(thinning the tokens between them only when they are farther apart than the budget).
"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ernie_res.config import option
from ernie_res.data.collate import pad_2d, with_labels
from ernie_res.data.entity_markers import (DEFAULT_MARKERS, entity_safe_window,
                                           insert_markers_spans, parse_marked, reindex_span,
                                           validate_spans)
from ernie_res.data.errors import DataFormatError
from ernie_res.data.newsgroups import split_dev
from ernie_res.data.semeval import LABELS, OTHER, OFFICIAL_SIZES, read_semeval, split_label
from ernie_res.metrics import semeval as semeval_metric
from ernie_res.tasks.base import Task


@dataclass
class RelDataConfig:
    name: str = option("semeval2010", "Dataset reader.", ("semeval2010",))
    root: str = option("data/sample/semeval2010", "Directory holding the SemEval-2010 Task 8 "
                                                  "files.")
    train_file: str = option("TRAIN_FILE.TXT", "Training file in root (four lines per "
                                               "example).")
    test_file: str = option("TEST_FILE_FULL.TXT", "Test file in root: TEST_FILE_FULL.TXT "
                                                  "(labelled), or TEST_FILE.TXT with test_key.")
    test_key: str = option("", "Answer key in root (TEST_FILE_KEY.TXT) for an unlabelled "
                               "test_file; empty = the labels are in test_file.")
    dev_ratio: float = option(0.1, "Stratified fraction of train held out as the dev set.")
    max_seq_len: int = option(128, "Word pieces per sentence, [CLS], [SEP] and the 4 markers "
                                   "included; longer sentences keep both entities "
                                   "(entity-safe window).")
    max_examples: int = option(0, "Use only the first N examples of each split (0 = all); for "
                                  "quick runs.")


class RelMetric(semeval_metric.SemEvalMetric):
    """The official score, keeping the probabilities (PR curves) and example order."""

    def reset(self):
        super().reset()
        self._probs, self._gold, self._index = [], [], []

    def update(self, probs, gold, index=None):
        """Args: probs (np.ndarray): float ``[B, 19]``; gold (np.ndarray): int64 ``[B]``;
        index (np.ndarray, optional): int64 ``[B]`` example indices."""
        probs = np.asarray(probs)
        if probs.ndim != 2 or probs.shape[1] != len(LABELS):
            raise ValueError(f"RelMetric: expected probs of shape [batch_size, {len(LABELS)}], "
                             f"got {list(probs.shape)}")
        super().update(probs.argmax(-1), gold)
        self._probs.append(probs)
        self._gold.append(np.asarray(gold).reshape(-1))
        start = sum(len(p) for p in self._index)
        self._index.append(np.asarray(index).reshape(-1) if index is not None
                           else np.arange(start, start + len(probs)))

    @property
    def probs(self):
        return np.concatenate(self._probs) if self._probs else np.zeros((0, len(LABELS)))

    @property
    def gold(self):
        return np.concatenate(self._gold) if self._gold else np.zeros((0,), np.int64)

    @property
    def index(self):
        return np.concatenate(self._index) if self._index else np.zeros((0,), np.int64)


class RelTask(Task):
    name = "rel"
    DataConfig = RelDataConfig
    markers = DEFAULT_MARKERS

    def __init__(self, config, tokenizer, labels=None, logger=None):
        super().__init__(config, tokenizer, labels, logger)
        self._train_dev = None

    # -- backbone: entity marker tokens
    def prepare_backbone(self, encoder):
        """Add the 4 marker tokens to ``self.tokenizer`` and rows for them to ``encoder``.

        Idempotent: a checkpoint's saved tokenizer already has the markers and its
        ``config.json`` the enlarged vocabulary, so nothing changes when it is reloaded. New
        embedding rows start at the mean of the existing rows.
        """
        import paddle

        tok = self.tokenizer
        vocab = tok.get_vocab()
        missing = [m for m in self.markers if m not in vocab]
        if missing:
            extra = list(getattr(tok, "additional_special_tokens", []) or [])
            tok.add_special_tokens({"additional_special_tokens": extra + missing})
        ids = tok.convert_tokens_to_ids(list(self.markers))
        pieces = [tok.tokenize(f"x {m} y") for m in self.markers]
        if any(m not in p or tok.tokenize(m) != [m] for p, m in zip(pieces, self.markers)) \
                or len(set(ids)) != len(ids):
            raise ValueError(f"REL: the tokenizer does not keep the markers {self.markers} "
                             f"whole (got {pieces}, ids {ids})")
        emb = encoder.get_input_embeddings()
        old_n = int(emb.weight.shape[0])
        need = max(max(ids) + 1, len(tok))
        if need > old_n:
            encoder.resize_token_embeddings(need)
            emb = encoder.get_input_embeddings()
        fresh = sorted({i for i, m in zip(ids, self.markers) if m in missing or i >= old_n})
        if fresh:
            with paddle.no_grad():
                mean = emb.weight[:old_n].mean(axis=0)                       # shape: [H]
                for i in fresh:
                    emb.weight[i] = mean
            self.log(f"entity markers {' '.join(self.markers)} -> token ids {ids}; embeddings "
                     f"{old_n} -> {int(emb.weight.shape[0])} rows, new rows = mean of the old")

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
                                       "test": d.test_file}, "semeval2010")
        if split in ("train", "dev"):
            if self._train_dev is None:
                full = read_semeval(path)
                self._read_note = (f"{len(full)} read from {path} (official size "
                                   f"{OFFICIAL_SIZES.get(d.train_file, 'n/a')})")
                self._train_dev = split_dev(full, d.dev_ratio, self.config.Global.seed)
            examples = self._train_dev[0 if split == "train" else 1]
            source = f"stratified {d.dev_ratio} split of {self._read_note}"
        else:
            key = self.split_path(split, {"test": d.test_key}, "semeval2010") \
                if d.test_key else None
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
        """Marked word pieces of one example.

        Returns:
            tuple: ``(input_ids, e1_span, e2_span, truncated)``: ``[CLS] ... [SEP]`` ids and the
            positions (start marker, end marker) of each entity in them.
        Raises:
            ValueError: bad spans, or the two entities alone longer than the budget.
        """
        tok = self.tokenizer
        marker_ids = self._marker_ids()
        marked, m1, m2 = insert_markers_spans(ex["text"], ex["e1"], ex["e2"], self.markers)
        cuts = sorted([(m1[0], 0), (m1[1] - len(self.markers[1]), 1),
                       (m2[0], 2), (m2[1] - len(self.markers[3]), 3)])
        ids, where, last = [], {}, 0
        for pos, k in cuts:              # tokenise the text between markers, insert marker ids
            ids += tok.convert_tokens_to_ids(tok.tokenize(marked[last:pos])) if pos > last else []
            where[k] = len(ids)
            ids.append(marker_ids[k])
            last = pos + len(self.markers[k])
        ids += tok.convert_tokens_to_ids(tok.tokenize(marked[last:])) if last < len(marked) else []
        s1, s2 = (where[0], where[1] + 1), (where[2], where[3] + 1)
        budget = self.data_cfg.max_seq_len - 2
        truncated = len(ids) > budget
        if truncated:
            try:
                kept = entity_safe_window(len(ids), s1, s2, budget, squeeze=True)
            except ValueError as err:
                raise ValueError(f"{err}; raise Data.max_seq_len (now "
                                 f"{self.data_cfg.max_seq_len})") from None
            ids = [ids[k] for k in kept]
            s1, s2 = reindex_span(kept, s1), reindex_span(kept, s2)
        ids = [tok.cls_token_id] + ids + [tok.sep_token_id]
        return ids, (s1[0] + 1, s1[1]), (s2[0] + 1, s2[1]), truncated

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
        return RelMetric()

    def update_metric(self, metric, outputs, batch):
        metric.update(outputs["probs"], np.asarray(batch["labels"]),   # the loader gives
                      np.asarray(batch["_index"]))                     # tensors: to NumPy

    def log_eval_visuals(self, vdl, metric, step, model):
        from ernie_res.engine.vdl import matrix_image

        probs, gold = metric.probs, metric.gold
        for k, name in enumerate(self.labels):
            vdl.pr_curve(f"pr_curve/{name}", (gold == k).astype(np.int64), probs[:, k], step)
        short = [semeval_metric.short_name(label) for label in self.labels]
        vdl.image("eval/confusion_matrix", matrix_image(metric.confusion_matrix(), short),
                  step)

    def write_answer_file(self, path, examples, metric):
        """The official answer file (``ID<TAB>label\\n``) of an evaluation, in example order."""
        order = np.argsort(metric.index, kind="stable")
        idx, pred = metric.index[order], metric.probs[order].argmax(-1)
        if len(idx) != len(examples) or (idx != np.arange(len(examples))).any():
            raise ValueError(f"REL: expected one prediction per example, got {len(idx)} for "
                             f"{len(examples)} examples")
        semeval_metric.write_answer_file(path, [e["id"] for e in examples],
                                         [self.labels[k] for k in pred])

    # -- inference
    def read_infer_inputs(self, path):
        """Sentences with ``<e1>..</e1>``/``<e2>..</e2>`` markup, one per line (optionally
        ``ID<TAB>"sentence"`` as in TEST_FILE.TXT), or ``.jsonl`` lines ``{"text", "e1": [s, e],
        "e2": [s, e], "id"?}`` with character spans. Blank lines are ignored; a bad line
        becomes an error entry and the rest of the file is still read."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"input {path} does not exist")
        jsonl = path.suffix.lower() == ".jsonl"
        examples, errors, seen = [], [], {}
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            sid = f"{path.name}:{n}"
            try:
                sid, text, e1, e2 = (self._jsonl_line(line, sid) if jsonl
                                     else self._markup_line(line, sid))
                if sid in seen:
                    raise ValueError(f"expected unique ids, got {sid!r} again (first on line "
                                     f"{seen[sid]})")
                ex = {"id": sid, "text": text, "e1": list(e1), "e2": list(e2), "line": n}
                self.encode(ex)                          # entities must fit max_seq_len
            except ValueError as err:
                msg = str(err).replace("parse_marked: ", "").replace("validate_spans: ", "")
                errors.append({"id": sid if sid not in seen else f"{path.name}:{n}", "line": n,
                               "error": str(DataFormatError(path, n, msg))})
                continue
            seen[sid] = n
            examples.append(ex)
        return examples, errors

    @staticmethod
    def _markup_line(line, sid):
        body = line.strip()
        head, tab, rest = body.partition("\t")
        if tab and head.strip().isdigit():
            sid, body = head.strip(), rest.strip()
        if len(body) >= 2 and body[0] == body[-1] == '"':
            body = body[1:-1]
        text, e1, e2 = parse_marked(body)
        return sid, text, e1, e2

    @staticmethod
    def _jsonl_line(line, sid):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"expected a JSON object, got invalid JSON ({err.msg})") from None
        if not isinstance(rec, dict) or any(k not in rec for k in ("text", "e1", "e2")):
            raise ValueError(f"expected an object with text, e1 and e2, got "
                             f"{sorted(rec) if isinstance(rec, dict) else type(rec).__name__}")
        e1, e2 = validate_spans(rec["text"], rec["e1"], rec["e2"])
        return (str(rec["id"]) if rec.get("id") is not None else sid), rec["text"], e1, e2

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
