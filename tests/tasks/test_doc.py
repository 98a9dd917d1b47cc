"""DocTask (tasks/doc.py) on the bundled 20NG sample: reader, windows, batches, metric,
prediction records and inference inputs, without training."""
import json
from pathlib import Path

import numpy as np
import paddle
import pytest

from ernie_res.api import load_config
from ernie_res.data.newsgroups import read_20ng
from ernie_res.metrics.classification import ClassificationMetric
from ernie_res.models import MODELS
from ernie_res.models.backbone import load_backbone
from ernie_res.models.doc_classifier import DocClassifier
from ernie_res.tasks import TASKS
from ernie_res.tasks.doc import DocTask

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data/sample/20news-bydate"


def cfg(tiny, *extra):
    return load_config(ROOT / "configs/doc/20ng_tiny.yaml",
                       [f"Model.backbone={tiny}", f"Data.root={SAMPLE}", "Data.max_seq_len=32",
                        "Data.head_tokens=8", *extra])


def pieces(tok, text):
    return tok.convert_tokens_to_ids(tok.tokenize(text))


@pytest.fixture(scope="module")
def task(tiny_ernie, tokenizer):
    t = DocTask(cfg(tiny_ernie), tokenizer)
    t.labels = t.build_labels(t.load_examples("train"))
    return t


def test_registered_with_its_model_and_dataset():
    from ernie_res.data.download import DATASETS

    assert TASKS["doc"] is DocTask and DocTask.name == "doc"
    assert DocTask.model_names == ("doc_classifier",)
    assert all(m in MODELS for m in DocTask.model_names)
    assert MODELS["doc_classifier"] is DocClassifier
    assert DocTask.dataset in DATASETS and DocTask.dataset == DocTask.DataConfig(root="x").name


def test_train_and_dev_are_a_stratified_split_of_train(tiny_ernie, tokenizer, logger):
    task = DocTask(cfg(tiny_ernie), tokenizer, logger=logger)
    train, dev, test = (task.load_examples(s) for s in ("train", "dev", "test"))
    full = read_20ng(SAMPLE, "train", remove=("headers",))
    assert len(train) + len(dev) == len(full) == 360 and len(test) == 119
    assert {e["id"] for e in train}.isdisjoint(e["id"] for e in dev)
    assert {e["id"] for e in train} | {e["id"] for e in dev} == {e["id"] for e in full}
    # dev_ratio 0.15 of each class (60 per class in the sample)
    labels = sorted({e["label"] for e in full})
    assert [sum(e["label"] == k for e in dev) for k in labels] == [9] * 6
    again = DocTask(cfg(tiny_ernie), tokenizer).load_examples("dev")
    assert [e["id"] for e in again] == [e["id"] for e in dev]       # fixed by Global.seed
    other = DocTask(cfg(tiny_ernie, "Global.seed=7"), tokenizer).load_examples("dev")
    assert [e["id"] for e in other] != [e["id"] for e in dev]
    assert "dev: 54 documents" in logger.text() and "per class: comp.graphics=9" in logger.text()
    with pytest.raises(ValueError, match=r"DOC: unknown split 'valid' \(expected train, dev "
                                         r"or test\)"):
        task.load_examples("valid")


def test_max_examples_samples_a_fixed_subset_in_file_order(tiny_ernie, tokenizer):
    full = DocTask(cfg(tiny_ernie), tokenizer).load_examples("test")
    task = DocTask(cfg(tiny_ernie, "Data.max_examples=10"), tokenizer)
    few = task.load_examples("test")
    assert len(few) == 10 and len(task.load_examples("train")) == 10
    order = [e["id"] for e in full]
    pos = [order.index(e["id"]) for e in few]
    assert pos == sorted(pos)
    assert len({e["label"] for e in few}) > 1      # sampled, not the first (sorted) class
    assert [e["id"] for e in DocTask(cfg(tiny_ernie, "Data.max_examples=10"),
                                     tokenizer).load_examples("test")] == [e["id"] for e in few]


def test_build_labels_are_sorted_and_unique(task):
    assert task.build_labels([{"label": "b"}, {"label": "a"}, {"label": "b"}]) == ["a", "b"]
    assert task.labels == ["comp.graphics", "rec.autos", "rec.sport.hockey", "sci.med",
                           "sci.space", "talk.politics.guns"]


def test_head_tail_windows(task, tokenizer):
    ex = task.load_examples("dev")[:20]
    feats = task.featurize(ex, "dev")
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    n_long = 0
    for f, e in zip(feats, ex):
        assert len(f["windows"]) == 1 and f["label"] == task.labels.index(e["label"])
        (w,) = f["windows"]
        ids = pieces(tokenizer, e["text"])
        assert w[0] == cls and w[-1] == sep
        if len(ids) > 30:                   # max_seq_len 32: head 8 + tail 22
            n_long += 1
            assert len(w) == 32 and w[1:-1] == ids[:8] + ids[-22:]
        else:
            assert w[1:-1] == ids
    assert n_long > 5
    assert [f["index"] for f in feats] == list(range(20))


def test_head_and_chunk_windows(tiny_ernie, tokenizer, logger):
    text = " ".join(["the space shuttle launch was delayed again"] * 8)
    ids = pieces(tokenizer, text)
    assert len(ids) > 60
    labels = ["a", "b"]
    head = DocTask(cfg(tiny_ernie, "Data.truncation=head"), tokenizer, labels)
    (w,) = head.featurize([{"id": "x", "text": text, "label": "b"}], "test")[0]["windows"]
    assert w[1:-1] == ids[:30] and len(w) == 32
    chunks = DocTask(cfg(tiny_ernie, "Data.truncation=chunks", "Data.max_chunks=2"), tokenizer,
                     labels, logger=logger)
    ws = chunks.featurize([{"id": "x", "text": text, "label": "a"}], "test")[0]["windows"]
    assert [len(w) for w in ws] == [32, 32]
    assert ws[0][1:-1] + ws[1][1:-1] == ids[:60]                   # no overlap by default
    assert all(w[0] == tokenizer.cls_token_id and w[-1] == tokenizer.sep_token_id for w in ws)
    assert "test: 1/1 documents longer than the chunks budget were shortened" in logger.text()
    short = chunks.featurize([{"id": "y", "text": "space shuttle", "label": "a"}], "test")
    assert short[0]["windows"] == [[tokenizer.cls_token_id] + pieces(tokenizer, "space shuttle")
                                   + [tokenizer.sep_token_id]]
    empty = chunks.featurize([{"id": "z", "text": "", "label": "a"}], "test")
    assert empty[0]["windows"] == [[tokenizer.cls_token_id, tokenizer.sep_token_id]]


def test_overlapping_chunks_count_cut_documents(tiny_ernie, tokenizer, logger):
    text = " ".join(["the space shuttle launch was delayed again"] * 8)
    n = len(pieces(tokenizer, text))
    task = DocTask(cfg(tiny_ernie, "Data.truncation=chunks", "Data.max_chunks=5",
                       "Data.chunk_stride=10"), tokenizer, ["a", "b"], logger=logger)
    ws = task.featurize([{"id": "x", "text": text, "label": "a"}], "test")[0]["windows"]
    covered = 4 * 10 + 30                  # the last window ends here: the rest is cut
    assert len(ws) == 5 and n > covered and sum(len(w) - 2 for w in ws) >= n
    assert "1/1 documents longer than the chunks budget were shortened" in logger.text()


def test_head_tokens_are_capped_at_the_budget(tiny_ernie, tokenizer):
    text = " ".join(["the space shuttle launch was delayed again"] * 8)
    task = DocTask(cfg(tiny_ernie, "Data.head_tokens=100"), tokenizer, ["a", "b"])
    (w,) = task.featurize([{"id": "x", "text": text, "label": "a"}], "test")[0]["windows"]
    assert w[1:-1] == pieces(tokenizer, text)[:30]


def test_featurize_labels(task):
    feats = task.featurize([{"id": "u", "text": "the puck"}], "infer")
    assert feats[0]["label"] == -1
    with pytest.raises(ValueError, match=r"DOC: test example x has label 'alt.atheism', which "
                                         r"is not among the 6 training labels"):
        task.featurize([{"id": "x", "text": "god", "label": "alt.atheism"}], "test")


def test_collate_pads_chunks_and_windows(tiny_ernie, tokenizer):
    task = DocTask(cfg(tiny_ernie, "Data.truncation=chunks", "Data.max_chunks=3"), tokenizer,
                   ["a", "b"])
    long = " ".join(["the space shuttle launch was delayed again"] * 6)
    feats = task.featurize([{"id": "1", "text": long, "label": "b"},
                            {"id": "2", "text": "space shuttle", "label": "a"}], "train")
    batch = task.collate(feats)
    assert set(batch) == {"input_ids", "attention_mask", "labels", "_index"}
    assert all(v.dtype == np.int64 for v in batch.values())
    c = len(feats[0]["windows"])
    assert c > 1 and batch["input_ids"].shape == (2, c, 32) == batch["attention_mask"].shape
    assert batch["labels"].tolist() == [1, 0] and batch["_index"].tolist() == [0, 1]
    n2 = len(feats[1]["windows"][0])
    assert batch["input_ids"][1, 0, :n2].tolist() == feats[1]["windows"][0]
    assert (batch["input_ids"][1, 0, n2:] == tokenizer.pad_token_id).all()
    assert batch["attention_mask"][1, 0].tolist() == [1] * n2 + [0] * (32 - n2)
    assert (batch["attention_mask"][1, 1:] == 0).all()                # padding windows
    assert batch["attention_mask"][0].sum() == sum(len(w) for w in feats[0]["windows"])
    unlabelled = task.featurize([{"id": "3", "text": "moon"}], "infer")
    assert "labels" not in task.collate(feats + unlabelled)           # only when all have one
    assert "labels" not in task.collate(unlabelled)


def test_build_model_is_the_registered_head(task, tiny_ernie):
    encoder, _ = load_backbone(str(tiny_ernie))
    model = task.build_model(encoder)
    assert type(model) is MODELS["doc_classifier"]
    assert model.classifier.weight.shape == [32, 6] and model.encoder is encoder


def test_metric_from_hand_made_outputs(task):
    metric = task.build_metric()
    assert isinstance(metric, ClassificationMetric) and metric.labels == task.labels
    gold = np.array([0, 1, 2, 3, 4, 5, 0, 1])
    task.update_metric(metric, {"probs": np.eye(6)[gold]}, {"labels": gold})
    assert metric.accumulate()["accuracy"] == 100.0 and metric.accumulate()["macro_f1"] == 100.0
    pred = gold.copy()
    pred[:2] = 5                             # two of eight wrong, fed in two batches
    metric = task.build_metric()
    task.update_metric(metric, {"probs": np.eye(6)[pred[:4]]}, {"labels": gold[:4]})
    task.update_metric(metric, {"probs": np.eye(6)[pred[4:]]}, {"labels": gold[4:]})
    assert metric.accumulate()["accuracy"] == 75.0


def test_log_eval_visuals_writes_pr_curves_and_the_matrix(task, vdl):
    metric = task.build_metric()
    gold = np.arange(6)
    task.update_metric(metric, {"probs": np.eye(6)[gold]}, {"labels": gold})
    task.log_eval_visuals(vdl, metric, 12, model=None)
    assert [c for c in vdl.calls if c[0] == "pr_curve"] == \
        [("pr_curve", f"pr_curve/{k}", 12) for k in task.labels]
    assert vdl.calls[-1] == ("image", "eval/confusion_matrix", 12)


@pytest.mark.parametrize("as_loader", [False, True], ids=["numpy", "loader_tensors"])
def test_prediction_records(task, as_loader):
    examples = [{"id": f"d{i}"} for i in range(3)]
    probs = np.array([[0.1, 0.6, 0.05, 0.05, 0.1, 0.1],
                      [0.0, 0.0, 0.0, 0.0, 0.25, 0.75],
                      [0.5, 0.1, 0.1, 0.1, 0.1, 0.1]], dtype=np.float32)
    batches = [({"probs": probs[[2, 0]]}, {"_index": np.array([2, 0])}),
               ({"probs": probs[[1]]}, {"_index": np.array([1])})]
    if as_loader:                           # the training DataLoader gives tensors
        batches = [(o, {k: paddle.to_tensor(v) for k, v in b.items()}) for o, b in batches]
    records = task.predictions(batches, examples, top_k=2)
    assert [r["id"] for r in records] == ["d0", "d1", "d2"]   # by index, not batch order
    assert records[0] == {"id": "d0", "label": "rec.autos", "prob": 0.6,
                          "top_k": [{"label": "rec.autos", "prob": 0.6},
                                    {"label": "comp.graphics", "prob": 0.1}]}
    assert records[1]["label"] == "talk.politics.guns" and records[1]["prob"] == 0.75
    assert [len(r["top_k"]) for r in task.predictions(batches, examples, top_k=6)] == [6] * 3


def test_read_infer_inputs(task, tmp_path):
    txt = tmp_path / "in.txt"
    txt.write_text("the goalie stopped the puck\n\nspace shuttle orbit\n", encoding="utf-8")
    records, errors = task.read_infer_inputs(txt)
    assert errors == [] and [r.get("text") for r in records] == ["the goalie stopped the puck",
                                                                 None, "space shuttle orbit"]
    assert [r["id"] for r in records] == ["in.txt:1", "in.txt:2", "in.txt:3"]
    assert records[1] == {"id": "in.txt:2", "line": 2, "blank": True}   # answered in place
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "puck", "id": 7}\n{"txt": "x"}\nnot json\n\n{"text": "moon"}\n',
                     encoding="utf-8")
    records, errors = task.read_infer_inputs(jsonl)
    assert [(r["id"], r.get("text"), r["line"]) for r in records] == [
        ("7", "puck", 1), ("in.jsonl:4", None, 4), ("in.jsonl:5", "moon", 5)]
    assert [(e["id"], e["line"]) for e in errors] == [("in.jsonl:2", 2), ("in.jsonl:3", 3)]
    assert errors[0]["error"] == f'{jsonl}:2: expected an object with a string "text" field'
    assert errors[1]["error"].startswith(f"{jsonl}:3: ")
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a").write_bytes("caf\xe9".encode("latin-1"))
    records, _ = task.read_infer_inputs(folder)
    assert records == [{"id": "sub/a", "text": "café", "line": None}]


def test_output_and_answer_text(task):
    rows = [{"id": "1", "label": "sci.med"}, {"id": "2", "error": "f:2: bad"}]
    assert [json.loads(x) for x in task.output_text(rows).splitlines()] == rows
    with pytest.raises(ValueError, match="task 'doc' has no official answer format"):
        task.answer_text([], task.build_metric())
