"""RelTask (tasks/rel.py) on the bundled SemEval-2010 sample: reader, entity markers,
entity-safe truncation, batches, the official metric and answer file, prediction records and
inference inputs, without training."""
import json
from pathlib import Path

import numpy as np
import paddle
import pytest

from ernie_res.api import load_config
from ernie_res.data.semeval import LABELS, read_semeval
from ernie_res.metrics.semeval import SemEvalProbsMetric
from ernie_res.models import MODELS
from ernie_res.models.backbone import backbone_from_config, load_backbone, save_backbone_files
from ernie_res.models.rel_classifier import RelClassifier
from ernie_res.tasks import TASKS
from ernie_res.tasks.rel import RelTask

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data/sample/semeval2010"
MARKERS = ["[E1]", "[/E1]", "[E2]", "[/E2]"]


def config(tiny, *extra):
    return load_config(ROOT / "configs/rel/semeval2010_tiny.yaml",
                       [f"Model.backbone={tiny}", f"Data.root={SAMPLE}", "Data.max_seq_len=48",
                        *extra])


def ready_task(tiny, *extra, logger=None):
    """A task whose (own) tokenizer and encoder have the markers."""
    encoder, tok = load_backbone(str(tiny))
    task = RelTask(config(tiny, *extra), tok, labels=list(LABELS), logger=logger)
    task.prepare_backbone(encoder)
    return task, encoder, tok


@pytest.fixture(scope="module")
def task(tiny_ernie):
    return ready_task(tiny_ernie)[0]


def pieces(tok, text):
    return tok.convert_tokens_to_ids(tok.tokenize(text))


def test_registered_with_its_model_and_dataset():
    from ernie_res.data.download import DATASETS

    assert TASKS["rel"] is RelTask and RelTask.name == "rel"
    assert RelTask.model_names == ("rel_classifier",)
    assert MODELS["rel_classifier"] is RelClassifier
    assert RelTask.dataset in DATASETS and RelTask.dataset == RelTask.DataConfig(root="x").name


def test_load_examples_split_and_max_examples(tiny_ernie, tokenizer, logger):
    task = RelTask(config(tiny_ernie), tokenizer, logger=logger)
    train, dev, test = (task.load_examples(s) for s in ("train", "dev", "test"))
    full = read_semeval(SAMPLE / "TRAIN_FILE.TXT")
    assert len(train) + len(dev) == len(full) == 150 and len(test) == 60
    assert len(dev) == 36                                     # Data.dev_ratio 0.2, stratified
    assert {e["id"] for e in train}.isdisjoint(e["id"] for e in dev)
    assert {e["id"] for e in train} | {e["id"] for e in dev} == {e["id"] for e in full}
    text = logger.text()
    assert "dev: 36 examples, stratified 0.2 split of 150 read from" in text
    assert "(official size 8000)" in text and "(official size 2717)" in text
    few = RelTask(config(tiny_ernie, "Data.max_examples=4"), tokenizer)
    assert [e["id"] for e in few.load_examples("train")] == [e["id"] for e in train[:4]]
    assert [e["id"] for e in few.load_examples("test")] == [e["id"] for e in test[:4]]
    with pytest.raises(ValueError, match=r"REL: unknown split 'valid' \(expected train, dev, "
                                         r"test\)"):
        task.load_examples("valid")


def write_unlabelled_test(tmp_path, n=3):
    raw = (SAMPLE / "TEST_FILE_FULL.TXT").read_bytes().decode("utf-8").split("\r\n")
    sents, labels = raw[0::4][:n], raw[1::4][:n]
    (tmp_path / "TEST_FILE.TXT").write_text("".join(s + "\r\n" for s in sents),
                                            encoding="utf-8")
    (tmp_path / "TEST_FILE_KEY.TXT").write_text(
        "".join(f"{s.split(chr(9))[0]}\t{lab}\r\n" for s, lab in zip(sents, labels)),
        encoding="utf-8")
    return labels


def test_unlabelled_test_file_needs_its_key(tiny_ernie, tokenizer, tmp_path):
    labels = write_unlabelled_test(tmp_path)
    keyed = RelTask(config(tiny_ernie, f"Data.root={tmp_path}", "Data.test_file=TEST_FILE.TXT",
                           "Data.test_key=TEST_FILE_KEY.TXT"), tokenizer)
    assert [e["label"] for e in keyed.load_examples("test")] == labels
    bare = RelTask(config(tiny_ernie, f"Data.root={tmp_path}", "Data.test_file=TEST_FILE.TXT"),
                   tokenizer)
    with pytest.raises(ValueError, match=r"REL: .*TEST_FILE\.TXT has 3 unlabelled examples; set "
                                         r"Data\.test_key to its answer key"):
        bare.load_examples("test")
    with pytest.raises(FileNotFoundError, match=r"TRAIN_FILE\.TXT not found: the rel task "
                                                r"expects .*`python tools/download_data\.py "
                                                r"semeval2010 --dest DIR`"):
        bare.load_examples("train")


def test_build_labels_are_the_official_19(tiny_ernie, tokenizer):
    task = RelTask(config(tiny_ernie), tokenizer)
    assert task.build_labels([{"label": "Other"}]) == list(LABELS) and len(LABELS) == 19
    with pytest.raises(ValueError, match=r"REL: expected SemEval labels, got \['Friend'\]"):
        task.build_labels([{"label": "Friend"}])


def test_featurize_needs_the_markers(tiny_ernie):
    _, tok = load_backbone(str(tiny_ernie))
    task = RelTask(config(tiny_ernie), tok, labels=list(LABELS))
    with pytest.raises(RuntimeError, match=r"call task\.prepare_backbone\(encoder\) first"):
        task.featurize(task.load_examples("test")[:1], "test")


def test_spans_point_at_the_marker_tokens(task):
    tok = task.tokenizer
    ids = tok.convert_tokens_to_ids(MARKERS)
    ex = task.load_examples("test")[:10]
    feats = task.featurize(ex, "test")
    for f, e in zip(feats, ex):
        x = f["input_ids"]
        assert x[0] == tok.cls_token_id and x[-1] == tok.sep_token_id and len(x) <= 48
        (a1, b1), (a2, b2) = f["e1_span"], f["e2_span"]
        assert [x[a1], x[b1], x[a2], x[b2]] == ids
        assert x[a1 + 1:b1] == pieces(tok, e["text"][e["e1"][0]:e["e1"][1]])
        assert x[a2 + 1:b2] == pieces(tok, e["text"][e["e2"][0]:e["e2"][1]])
        assert f["label"] == LABELS.index(e["label"])
    assert [f["index"] for f in feats] == list(range(10))
    unlabelled = task.featurize([dict(ex[0], label=None)], "infer")
    assert unlabelled[0]["label"] == -1


def test_truncation_keeps_both_entities(tiny_ernie):
    task, _, tok = ready_task(tiny_ernie, "Data.max_seq_len=24")
    ids = tok.convert_tokens_to_ids(MARKERS)
    pad = " ".join(["the old house"] * 20)
    near = f"{pad} the virus caused fever {pad}"
    s = near.index("virus")
    far = f"the virus {pad} {pad} caused fever today"
    examples = [{"id": "1", "text": near, "e1": [s, s + 5], "e2": [near.index("fever"),
                                                                   near.index("fever") + 5],
                 "label": "Cause-Effect(e1,e2)"},
                {"id": "2", "text": far, "e1": [4, 9], "e2": [far.index("fever"),
                                                              far.index("fever") + 5],
                 "label": "Cause-Effect(e1,e2)"}]
    feats = task.featurize(examples, "test")
    assert len(feats) == 2                                          # nothing dropped
    for f, ex in zip(feats, examples):
        x = f["input_ids"]
        assert len(x) == 24 and x[0] == tok.cls_token_id and x[-1] == tok.sep_token_id
        (a1, b1), (a2, b2) = f["e1_span"], f["e2_span"]
        assert [x[a1], x[b1], x[a2], x[b2]] == ids                 # the marker ids
        for (a, b), span in (((a1, b1), ex["e1"]), ((a2, b2), ex["e2"])):
            text = ex["text"][span[0]:span[1]]
            assert x[a + 1:b] == tok.convert_tokens_to_ids(tok.tokenize(text))
    batch = task.collate(feats)
    assert batch["e1_span"].shape == (2, 2) and batch["labels"].tolist() == [1, 1]
    # no window can hold entities that are alone longer than the budget: a clear error
    long_ent = {"id": "3", "text": pad, "e1": [0, len(pad) - 6], "e2": [len(pad) - 5,
                                                                        len(pad)]}
    with pytest.raises(ValueError, match=r"REL: test example 3: .*raise Data.max_seq_len"):
        task.featurize([long_ent], "test")


def test_truncation_is_logged(tiny_ernie, logger):
    task, _, _ = ready_task(tiny_ernie, "Data.max_seq_len=12", logger=logger)
    ex = task.load_examples("test")[:10]
    logger.lines.clear()
    feats = task.featurize(ex, "test")
    whole = RelTask(config(tiny_ernie, "Data.max_seq_len=128"), task.tokenizer,
                    labels=list(LABELS)).featurize(ex, "test")
    cut = sum(len(f["input_ids"]) > 12 for f in whole)
    assert 0 < cut < 10 and all(len(f["input_ids"]) <= 12 for f in feats)
    assert logger.lines == [f"test: {cut}/10 sentences longer than the 10-piece budget (markers "
                            f"included) were windowed around both entities (none dropped, no "
                            f"entity cut)"]


def test_prepare_backbone_is_idempotent_and_initialises_to_the_mean(tiny_ernie, tmp_path):
    cfg = config(tiny_ernie)
    encoder, tok = load_backbone(str(tiny_ernie))
    old = encoder.get_input_embeddings().weight.numpy().copy()
    task = RelTask(cfg, tok)
    task.prepare_backbone(encoder)
    new = encoder.get_input_embeddings().weight.numpy()
    n = old.shape[0]
    assert new.shape[0] == n + 4 and encoder.config.vocab_size == n + 4
    np.testing.assert_array_equal(new[:n], old)
    np.testing.assert_allclose(new[n:], np.repeat(old.mean(0, keepdims=True), 4, 0),
                               rtol=1e-5, atol=1e-7)
    task.prepare_backbone(encoder)                                   # second call: no change
    assert encoder.get_input_embeddings().weight.shape[0] == n + 4 and len(tok) == n + 4
    save_backbone_files(encoder, tok, tmp_path / "backbone")        # what a checkpoint holds
    enc2, tok2 = backbone_from_config(tmp_path / "backbone")        # the reload path
    RelTask(cfg, tok2).prepare_backbone(enc2)
    assert enc2.get_input_embeddings().weight.shape[0] == n + 4 and len(tok2) == n + 4
    assert tok2.convert_tokens_to_ids(MARKERS) == list(range(n, n + 4))


def test_prepare_backbone_logs_what_changed(tiny_ernie, logger):
    encoder, tok = load_backbone(str(tiny_ernie))
    task = RelTask(config(tiny_ernie), tok, logger=logger)
    task.prepare_backbone(encoder)
    assert len(logger.lines) == 1 and logger.lines[0].startswith(
        "entity markers [E1] [/E1] [E2] [/E2] -> token ids")
    task.prepare_backbone(encoder)
    assert len(logger.lines) == 1                                    # nothing new to say


def test_collate(task):
    feats = task.featurize(task.load_examples("test")[:3], "test")
    batch = task.collate(feats)
    assert set(batch) == {"input_ids", "attention_mask", "e1_span", "e2_span", "labels",
                          "_index"}
    assert all(v.dtype == np.int64 for v in batch.values())
    lens = [len(f["input_ids"]) for f in feats]
    assert batch["input_ids"].shape == (3, max(lens)) and batch["e2_span"].shape == (3, 2)
    for r, f in enumerate(feats):
        assert batch["input_ids"][r, :lens[r]].tolist() == f["input_ids"]
        assert (batch["input_ids"][r, lens[r]:] == task.tokenizer.pad_token_id).all()
        assert batch["attention_mask"][r].tolist() == [1] * lens[r] + [0] * (max(lens) - lens[r])
        assert batch["e1_span"][r].tolist() == list(f["e1_span"])
    assert batch["labels"].tolist() == [f["label"] for f in feats]
    infer = task.featurize([{"id": "9", "text": "a b", "e1": [0, 1], "e2": [2, 3]}], "infer")
    assert "labels" not in task.collate(feats + infer) and "labels" not in task.collate(infer)


def test_build_model_is_the_registered_head(tiny_ernie):
    task, encoder, tok = ready_task(tiny_ernie)
    model = task.build_model(encoder)
    assert type(model) is MODELS["rel_classifier"]
    assert model.classifier.weight.shape == [32, 19]
    assert model.encoder.get_input_embeddings().weight.shape[0] == len(tok)   # with markers


def test_metric_and_answer_file_from_hand_made_outputs(task):
    ex = task.load_examples("test")[:12]
    gold = np.array([LABELS.index(e["label"]) for e in ex])
    metric = task.build_metric()
    assert isinstance(metric, SemEvalProbsMetric)
    order = np.array([5, 0, 11, 3, 2, 1, 4, 10, 9, 8, 7, 6])   # batches out of example order
    for part in (order[:7], order[7:]):
        task.update_metric(metric, {"probs": np.eye(19)[gold[part]]},
                           {"labels": paddle.to_tensor(gold[part]),   # as the loader gives
                            "_index": paddle.to_tensor(part)})
    m = metric.accumulate()
    assert m["macro_f1"] == 100.0 and m["accuracy"] == 100.0
    text = task.answer_text(ex, metric)
    assert text == "".join(f"{e['id']}\t{e['label']}\n" for e in ex)       # example order
    wrong = task.build_metric()
    pred = gold.copy()
    pred[:6] = 0                                                 # six answered Other
    task.update_metric(wrong, {"probs": np.eye(19)[pred]},
                       {"labels": gold, "_index": np.arange(12)})
    assert wrong.accumulate()["accuracy"] == pytest.approx(100 * (12 - 6 + sum(
        g == 0 for g in gold[:6])) / 12)
    with pytest.raises(ValueError, match="expected one prediction per example"):
        task.answer_text(ex + ex[:1], wrong)


def test_log_eval_visuals(task, vdl):
    metric = task.build_metric()
    gold = np.arange(19)
    task.update_metric(metric, {"probs": np.eye(19)}, {"labels": gold, "_index": gold})
    task.log_eval_visuals(vdl, metric, 3, model=None)
    assert [c[1] for c in vdl.calls if c[0] == "pr_curve"] == [f"pr_curve/{k}" for k in LABELS]
    assert vdl.calls[-1] == ("image", "eval/confusion_matrix", 3)


@pytest.mark.parametrize("as_loader", [False, True], ids=["numpy", "loader_tensors"])
def test_prediction_records(task, as_loader):
    ex = [{"id": "1", "text": "The virus caused fever.", "e1": [4, 9], "e2": [17, 22]},
          {"id": "2", "text": "A cup of tea.", "e1": [2, 5], "e2": [9, 12]}]
    probs = np.full((2, 19), 0.01, dtype=np.float32)
    cause = LABELS.index("Cause-Effect(e1,e2)")
    probs[0, cause], probs[0, 0] = 0.7, 0.12
    probs[1, 0] = 0.8
    batch = {"_index": np.array([1, 0])}                       # rows out of example order
    if as_loader:
        batch = {"_index": paddle.to_tensor(batch["_index"])}
    records = task.predictions([({"probs": probs[[1, 0]]}, batch)], ex, top_k=2)
    assert records[0] == {"id": "1", "label": "Cause-Effect(e1,e2)", "relation": "Cause-Effect",
                          "direction": "e1,e2", "prob": 0.7, "e1": "virus", "e2": "fever",
                          "top_k": [{"label": "Cause-Effect(e1,e2)", "prob": 0.7},
                                    {"label": "Other", "prob": 0.12}]}
    assert records[1]["label"] == "Other" and records[1]["relation"] == "Other"
    assert records[1]["direction"] is None
    assert (records[1]["e1"], records[1]["e2"]) == ("cup", "tea")


def test_read_infer_inputs_reports_bad_lines(tiny_ernie, tmp_path):
    task, _, _ = ready_task(tiny_ernie, "Data.max_seq_len=12")
    marked = tmp_path / "in.txt"
    far = "the " * 20
    marked.write_text('8001\t"The <e1>virus</e1> caused severe <e2>fever</e2>."\n'
                      "The <e1>lecture</e1> was about <e2>taxes.\n"
                      "\n"
                      f"The <e1>{far}virus</e1> then <e2>fever</e2>.\n"
                      "All the <e1>coins</e1> sat inside the <e2>box</e2>.\n", encoding="utf-8")
    examples, errors = task.read_infer_inputs(marked)
    assert [(e["id"], e["line"]) for e in examples] == [("8001", 1), ("in.txt:3", 3),
                                                        ("in.txt:5", 5)]
    assert examples[1] == {"id": "in.txt:3", "line": 3, "blank": True}
    assert examples[0]["text"] == "The virus caused severe fever."
    assert [(e["id"], e["line"]) for e in errors] == [("in.txt:2", 2), ("in.txt:4", 4)]
    assert errors[0]["error"] == (f"{marked}:2: expected exactly one </e2>, got 0 in 'The "
                                  f"<e1>lecture</e1> was about <e2>taxes.'")
    assert errors[1]["error"].startswith(f"{marked}:4: ")             # entities do not fit
    assert "raise Data.max_seq_len (now 12)" in errors[1]["error"]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(json.dumps({"text": "The virus caused fever.", "e1": [4, 9],
                                 "e2": [17, 22], "id": 7}) + "\n"
                     + json.dumps({"text": "The virus caused fever.", "e1": [4, 9],
                                   "e2": [6, 12]}) + "\n", encoding="utf-8")
    examples, errors = task.read_infer_inputs(jsonl)
    assert [e["id"] for e in examples] == ["7"] and examples[0]["e2"] == [17, 22]
    assert errors == [{"id": "in.jsonl:2", "line": 2, "error": f"{jsonl}:2: expected "
                       f"non-overlapping e1 and e2, got [4, 9] and [6, 12]"}]


def test_output_text_is_json_lines(task):
    rows = [{"id": "1", "label": "Other"}, {"id": "x:2", "error": "x:2: bad"}]
    assert [json.loads(x) for x in task.output_text(rows).splitlines()] == rows
