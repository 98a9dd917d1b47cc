"""SeqTask (tasks/seq.py) on the bundled CoNLL-2003 sample: reader, windows, batches,
metric, prediction records, CoNLL/JSON output, without training."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import paddle
import pytest

from ernie_res.api import load_config
from ernie_res.data.seq_features import word_pieces
from ernie_res.data.tagging import convert_tags
from ernie_res.metrics.conlleval import WindowedConllMetric
from ernie_res.models import MODELS
from ernie_res.models.backbone import load_backbone
from ernie_res.models.seq_tagger import SeqTagger
from ernie_res.tasks import TASKS
from ernie_res.tasks.seq import SeqTask

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data/sample/conll2003"


def cfg(tiny, *extra):
    return load_config(ROOT / "configs/seq/conll03_tiny.yaml",
                       [f"Model.backbone={tiny}", f"Data.root={SAMPLE}", "Data.max_seq_len=32",
                        *extra])


def make_task(tiny, tokenizer, *extra, logger=None):
    task = SeqTask(cfg(tiny, *extra), tokenizer, logger=logger)
    task.labels = task.build_labels(task.load_examples("train"))
    return task


@pytest.fixture(scope="module")
def task(tiny_ernie, tokenizer):
    return make_task(tiny_ernie, tokenizer)


def scored_words(feats):
    """``{sentence index: [word positions scored, in window order]}``."""
    out = {}
    for f in feats:
        out.setdefault(f["index"], []).extend(
            range(f["offset"] + f["score"][0], f["offset"] + f["score"][1]))
    return out


def test_registered_with_its_model_and_dataset():
    from ernie_res.data.download import DATASETS

    assert TASKS["seq"] is SeqTask and SeqTask.name == "seq"
    assert SeqTask.model_names == ("seq_crf",) and MODELS["seq_crf"] is SeqTagger
    assert SeqTask.dataset in DATASETS and SeqTask.dataset == SeqTask.DataConfig(root="x").name


def test_load_examples_counts_and_max_examples(tiny_ernie, tokenizer, logger):
    task = SeqTask(cfg(tiny_ernie), tokenizer, logger=logger)
    train, dev, test = (task.load_examples(s) for s in ("train", "dev", "test"))
    assert (len(train), len(dev), len(test)) == (271, 48, 52)
    assert dev[0]["id"] == "eng.testa:3" and dev[0]["words"][:2] == ["Northwind", "Trading"]
    assert dev[0]["tags"][:3] == ["B-ORG", "I-ORG", "O"]       # IOB1 in the file -> IOB2
    assert "dev: 48 sentences" in logger.text() and str(SAMPLE / "eng.testa") in logger.text()
    few = SeqTask(cfg(tiny_ernie, "Data.max_examples=5"), tokenizer).load_examples("dev")
    assert [e["id"] for e in few] == [e["id"] for e in dev[:5]]   # the first N
    bioes = SeqTask(cfg(tiny_ernie, "Data.scheme=BIOES"), tokenizer).load_examples("dev")
    assert bioes[0]["tags"][:3] == ["B-ORG", "E-ORG", "O"]


def test_missing_files_name_the_download_command(tiny_ernie, tokenizer, tmp_path):
    task = SeqTask(cfg(tiny_ernie, f"Data.root={tmp_path}"), tokenizer)
    with pytest.raises(FileNotFoundError, match=r"eng\.testa not found: the seq task expects "
                                                r"eng\.train, eng\.testa, eng\.testb in "
                                                r"Data\.root; `python tools/download_data\.py "
                                                r"conll2003 --dest DIR` fetches them"):
        task.load_examples("dev")
    with pytest.raises(ValueError, match=r"SEQ: unknown split 'valid'"):
        task.load_examples("valid")


def test_build_labels(task, tiny_ernie, tokenizer):
    assert task.labels[0] == "O"
    assert set(task.labels[1:]) == {f"{p}-{k}" for p in "BI" for k in ("LOC", "MISC", "ORG",
                                                                       "PER")}
    bioes = make_task(tiny_ernie, tokenizer, "Data.scheme=BIOES")
    assert len(bioes.labels) == 1 + 4 * 4 and "S-MISC" in bioes.labels


def test_word_index_points_at_each_words_first_piece(tiny_ernie, tokenizer, task):
    ex = task.load_examples("dev")[:8]
    for context in ("none", "document"):
        t = SeqTask(cfg(tiny_ernie, f"Data.context={context}"), tokenizer, labels=task.labels)
        feats = t.featurize(ex, "dev")
        assert len(feats) == len(ex)                                # all fit one window
        for f, e in zip(feats, ex):
            ids = f["input_ids"]
            assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
            assert len(ids) <= 32 and len(f["word_index"]) == len(e["words"])
            ends = f["word_index"][1:] + [f["word_index"][-1] + len(word_pieces(
                tokenizer, [e["words"][-1]])[0])]
            for k, (w, a, b) in enumerate(zip(e["words"], f["word_index"], ends)):
                assert ids[a:b] == word_pieces(tokenizer, [w])[0], (e["id"], k)
            assert f["labels"] == [task.labels.index(tag) for tag in e["tags"]]
            assert (f["offset"], f["score"], f["n_words"]) == (0, (0, len(e["words"])),
                                                               len(e["words"]))
            if context == "none":
                assert f["word_index"][0] == 1 and ends[-1] == len(ids) - 1
    assert any(f["word_index"][0] > 1 for f in feats)               # document context on the left


def test_long_sentences_are_windowed_and_every_word_scored_once(tiny_ernie, tokenizer, task,
                                                                logger):
    ex = task.load_examples("train")[:40]
    t = SeqTask(cfg(tiny_ernie, "Data.max_seq_len=8", "Data.context=none"), tokenizer,
                labels=task.labels, logger=logger)
    feats = t.featurize(ex, "train")
    assert len(feats) > len(ex)
    n_split = sum(1 for i in range(len(ex)) if sum(f["index"] == i for f in feats) > 1)
    assert n_split > 5
    assert (f"train: {n_split} sentences longer than 6 word pieces were split into overlapping "
            f"windows") in logger.text()
    assert all(len(f["input_ids"]) <= 8 for f in feats)
    scored = scored_words(feats)
    assert sorted(scored) == list(range(len(ex)))
    for i, e in enumerate(ex):
        assert scored[i] == list(range(len(e["words"]))), e["id"]   # each word exactly once
    for f in feats:                                                  # windows of whole words
        e = ex[f["index"]]
        first = [word_pieces(tokenizer, [w])[0][0]
                 for w in e["words"][f["offset"]:f["offset"] + len(f["word_index"])]]
        assert [f["input_ids"][j] for j in f["word_index"]] == first
        tags = e["tags"][f["offset"]:f["offset"] + len(f["word_index"])]
        assert f["labels"] == [task.labels.index(x) for x in tags]


def test_document_context_surrounds_the_centre(tiny_ernie):
    cfg = load_config(ROOT / "configs/seq/conll03_tiny.yaml", [f"Model.backbone={tiny_ernie}",
                                                               f"Data.root={SAMPLE}"])
    _, tok = load_backbone(str(tiny_ernie))
    task = SeqTask(cfg, tok)
    ex = task.load_examples("dev")[:6]
    task.labels = task.build_labels(ex)
    with_ctx = task.featurize(ex, "dev")
    alone = SeqTask(cfg.replace("Data", context="none"), tok,
                    labels=task.labels).featurize(ex, "dev")
    for a, b, e in zip(with_ctx, alone, ex):
        assert len(a["word_index"]) == len(b["word_index"]) == len(e["words"])
        assert len(a["input_ids"]) >= len(b["input_ids"])
        # the labelled words' first pieces are the same tokens with or without context
        assert [a["input_ids"][i] for i in a["word_index"]] == \
            [b["input_ids"][i] for i in b["word_index"]]
    assert any(len(a["input_ids"]) > len(b["input_ids"]) for a, b in zip(with_ctx, alone))


def test_featurize_without_tags_and_with_unknown_tags(task):
    feats = task.featurize([{"id": "x", "words": ["John", "lives", "here"]}], "infer")
    assert feats[0]["labels"] == [0, 0, 0]
    assert task.featurize([{"id": "e", "words": []}], "infer") == []     # nothing to tag
    with pytest.raises(ValueError, match=r"SEQ: x has tag 'B-DATE', which is not among the "
                                         r"training tags"):
        task.featurize([{"id": "x", "words": ["May"], "tags": ["B-DATE"]}], "test")


def test_collate(task, tokenizer):
    ex = task.load_examples("dev")[:3]
    t = SeqTask(task.config.replace("Data", context="none"), tokenizer, labels=task.labels)
    feats = t.featurize(ex, "dev")
    batch = t.collate(feats)
    assert set(batch) == {"input_ids", "attention_mask", "word_index", "word_mask", "labels",
                          "_index", "_n_words", "_offset", "_score"}
    assert all(v.dtype == np.int64 for v in batch.values())
    lens = [len(f["input_ids"]) for f in feats]
    words = [len(f["word_index"]) for f in feats]
    assert batch["input_ids"].shape == (3, max(lens)) == batch["attention_mask"].shape
    assert batch["word_index"].shape == (3, max(words)) == batch["labels"].shape
    assert batch["_score"].shape == (3, 2)
    for r, f in enumerate(feats):
        assert batch["input_ids"][r, :lens[r]].tolist() == f["input_ids"]
        assert (batch["input_ids"][r, lens[r]:] == tokenizer.pad_token_id).all()
        assert batch["attention_mask"][r].tolist() == [1] * lens[r] + [0] * (max(lens) - lens[r])
        assert batch["word_mask"][r].tolist() == [1] * words[r] + [0] * (max(words) - words[r])
        assert (batch["word_index"][r, words[r]:] == 0).all()
        assert batch["labels"][r, :words[r]].tolist() == f["labels"]
    assert batch["_index"].tolist() == [0, 1, 2]
    assert batch["_n_words"].tolist() == [len(e["words"]) for e in ex]
    # SEQ batches always carry labels (0 = "O" without gold tags): the tagger's forward
    # takes them, and the metric reads them
    assert "labels" in t.collate(t.featurize([{"id": "u", "words": ["a"]}], "infer"))


def test_build_model_is_the_registered_head(task, tiny_ernie):
    encoder, _ = load_backbone(str(tiny_ernie))
    model = task.build_model(encoder)
    assert type(model) is MODELS["seq_crf"]
    assert model.emissions.weight.shape == [32, len(task.labels)]
    assert model.crf is not None and model.crf.transitions.shape == [len(task.labels)] * 2


def windowed_batches(task, tokenizer, ex, *overrides, as_loader=False):
    t = SeqTask(task.config.replace("Data", **dict(overrides)), tokenizer, labels=task.labels)
    feats = t.featurize(ex, "dev")
    batches = [t.collate(feats[i:i + 4]) for i in range(0, len(feats), 4)]
    if as_loader:                          # the training DataLoader gives tensors
        batches = [{k: paddle.to_tensor(v) for k, v in b.items()} for b in batches]
    return t, batches


def test_metric_from_hand_made_outputs(task, tokenizer):
    ex = task.load_examples("dev")[:20]
    t, batches = windowed_batches(task, tokenizer, ex, ("max_seq_len", 8), ("context", "none"))
    metric = t.build_metric()
    assert isinstance(metric, WindowedConllMetric) and metric.labels == task.labels
    for b in batches:                        # perfect predictions, window by window
        t.update_metric(metric, {"predictions": b["labels"]}, b)
    m = metric.accumulate()
    assert m["f1"] == m["precision"] == m["recall"] == 100.0
    assert metric.tokens == sum(len(e["words"]) for e in ex)       # every word once
    metric = t.build_metric()
    for b in batches:                        # everything "O": no entity found
        t.update_metric(metric, {"predictions": np.zeros_like(b["labels"])}, b)
    m = metric.accumulate()
    assert m["f1"] == 0.0 and m["precision"] == 0.0 and m["recall"] == 0.0


def test_metric_partial_credit(task, tokenizer):
    ex = [{"id": "s", "words": ["John", "met", "Mary", "in", "Paris"],
           "tags": ["B-PER", "O", "B-PER", "O", "B-LOC"]}]
    t, (b,) = windowed_batches(task, tokenizer, ex)
    pred = b["labels"].copy()
    pred[0, 4] = task.labels.index("O")        # Paris missed: P 100, R 2/3
    metric = t.build_metric()
    t.update_metric(metric, {"predictions": pred}, b)
    m = metric.accumulate()
    assert m["precision"] == 100.0 and m["recall"] == pytest.approx(200 / 3)
    assert m["f1"] == pytest.approx(80.0) and m["recall_LOC"] == 0.0


@pytest.mark.parametrize("as_loader", [False, True], ids=["numpy", "loader_tensors"])
def test_prediction_records_for_conll_input(task, tokenizer, tiny_ernie, as_loader):
    ex = task.load_examples("dev")[:6]
    t, batches = windowed_batches(task, tokenizer, ex, ("max_seq_len", 8), ("context", "none"),
                                  as_loader=as_loader)
    records = t.predictions([({"predictions": b["labels"]}, b) for b in batches], ex)
    assert [r["id"] for r in records] == [e["id"] for e in ex]
    for r, e in zip(records, ex):
        assert r == {"id": e["id"], "words": e["words"], "tags": e["tags"], "gold": e["tags"]}
    # BIOES models answer in IOB2
    bt = make_task(tiny_ernie, tokenizer, "Data.scheme=BIOES")
    ex = bt.load_examples("dev")[:3]
    feats = bt.featurize(ex, "dev")
    b = bt.collate(feats)
    records = bt.predictions([({"predictions": b["labels"]}, b)], ex)
    for r, e in zip(records, ex):
        assert r["tags"] == r["gold"] == convert_tags(e["tags"], "BIOES", "IOB2")
    assert any("E-ORG" in e["tags"] for e in ex)


def test_prediction_records_for_text_input(task, tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_text("John Smith visited Paris .\n\nAcme Corp rose.\n", encoding="utf-8")
    ex, errors = task.read_infer_inputs(inp)
    assert errors == [] and [e["line"] for e in ex] == [1, 2, 3]
    assert ex[1] == {"id": "in.txt:2", "line": 2, "blank": True}     # answered by api.predict
    ex[1] = {"id": "in.txt:2", "text": "", "line": 2, "words": [], "offsets": []}
    assert ex[2]["words"] == ["Acme", "Corp", "rose", "."]
    assert ex[2]["offsets"] == [(0, 4), (5, 9), (10, 14), (14, 15)]
    feats = task.featurize(ex, "infer")
    assert sorted({f["index"] for f in feats}) == [0, 2]             # the blank line: no window
    b = task.collate(feats)
    lab = task.labels.index
    pred = np.zeros_like(b["labels"])
    pred[0, :4] = [lab("B-PER"), lab("I-PER"), lab("O"), lab("B-LOC")]
    pred[1, :2] = [lab("B-ORG"), lab("I-ORG")]
    records = task.predictions([({"predictions": pred}, b)], ex)
    assert records[1] == {"id": "in.txt:2", "words": [], "tags": [], "entities": []}
    assert records[0]["tags"] == ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert records[0]["entities"] == [
        {"text": "John Smith", "type": "PER", "start": 0, "end": 10},
        {"text": "Paris", "type": "LOC", "start": 19, "end": 24}]
    assert records[2]["entities"] == [{"text": "Acme Corp", "type": "ORG", "start": 0,
                                       "end": 9}]
    assert "gold" not in records[0]


def test_read_conll_infer_input(task, tmp_path):
    inp = tmp_path / "in.conll"
    inp.write_text("-DOCSTART- O\n\nJohn B-PER\nruns O\n\nParis B-LOC\n", encoding="utf-8")
    ex, errors = task.read_infer_inputs(inp)
    assert errors == []
    assert [(e["id"], e["line"], e["words"], e["tags"]) for e in ex] == [
        ("in.conll:3", 3, ["John", "runs"], ["B-PER", "O"]),
        ("in.conll:6", 6, ["Paris"], ["B-LOC"])]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        task.read_infer_inputs(tmp_path / "nope.txt")


def test_output_text_conll_columns_or_json(task):
    rows = [{"id": "a:1", "words": ["John", "runs"], "tags": ["B-PER", "O"],
             "gold": ["B-PER", "B-PER"]},
            {"id": "a:4", "words": ["Paris"], "tags": ["B-LOC"], "gold": ["B-LOC"]}]
    assert task.output_text(rows) == "John B-PER B-PER\nruns B-PER O\n\nParis B-LOC B-LOC\n\n"
    text_rows = [{"id": "t:1", "words": ["Paris"], "tags": ["B-LOC"], "entities": []},
                 {"id": "t:2", "error": "t:2: bad"}]
    assert [json.loads(x) for x in task.output_text(text_rows).splitlines()] == text_rows
    assert task.output_text([]) == ""


def test_answer_text_and_visuals(task, vdl):
    with pytest.raises(ValueError, match="task 'seq' has no official answer format"):
        task.answer_text([], task.build_metric())
    n = len(task.labels)
    task.log_eval_visuals(vdl, None, 5, SimpleNamespace(crf=SimpleNamespace(
        transitions=paddle.zeros([n, n]))))
    assert vdl.calls == [("image", "eval/crf_transitions", 5)]
    task.log_eval_visuals(vdl, None, 6, SimpleNamespace(crf=None))     # softmax head: nothing
    assert len(vdl.calls) == 1
