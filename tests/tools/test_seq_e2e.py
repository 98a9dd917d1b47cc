"""SEQ end to end on the bundled CoNLL-2003-layout sample with a tiny ERNIE."""
import json
from pathlib import Path

import numpy as np
import pytest

from ernie_res.api import load_config
from ernie_res import api
from ernie_res.engine.vdl import read_scalars
from ernie_res.metrics.conlleval import conlleval_lines

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data/sample/conll2003"


def config(out, tiny, *extra):
    return load_config(ROOT / "configs/seq/conll03_tiny.yaml", [
        f"Global.output_dir={out}", f"Model.backbone={tiny}", "Global.log_interval=1",
        "Train.max_steps=30", "Train.eval_steps=15", *extra])


@pytest.fixture(scope="module")
def trained(tiny_ernie, tmp_path_factory):
    out = tmp_path_factory.mktemp("seq_run")
    state = api.train(config(out, tiny_ernie))
    return out, state


def test_training_reduces_loss_and_decodes_entities(trained):
    out, state = trained
    losses = [v for _, v in read_scalars(out / "vdl")["train/loss"]]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert state["best"] > 20.0           # entity F1 on dev: entities are being decoded
    scalars = read_scalars(out / "vdl")
    assert {"eval/f1", "eval/precision", "eval/recall", "eval/f1_PER",
            "eval/precision_PER", "eval/recall_LOC"} <= set(scalars)


def test_infer_raw_text_offsets_slice_the_entities(trained, tmp_path, tool):
    out, _ = trained
    text = ["John Smith met Maria Lopez in Paris .", "", "Acme Corp shares rose in London."]
    inp = tmp_path / "in.txt"
    inp.write_text("\n".join(text) + "\n", encoding="utf-8")
    assert tool("infer").main(["--model_dir", str(out / "best"), "--input", str(inp),
                               "--output", str(tmp_path / "p.jsonl")]) == 0
    rows = [json.loads(l) for l in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["in.txt:1", "in.txt:2", "in.txt:3"]
    assert not any("error" in r for r in rows)
    assert rows[1] == {"id": "in.txt:2", "blank": True}      # a blank line is answered in place
    n_entities = 0
    for line, r in zip(text[::2], rows[::2]):
        assert len(r["tags"]) == len(r["words"])
        for e in r["entities"]:
            assert line[e["start"]:e["end"]] == e["text"]
            assert e["type"] in {"PER", "ORG", "LOC", "MISC"}
            n_entities += 1
    assert n_entities > 0


def test_conll_in_conll_out_scores_like_eval(trained, tmp_path, tool):
    out, _ = trained
    pred = tmp_path / "pred.conll"
    assert tool("infer").main(["--model_dir", str(out / "best"), "--input",
                               str(SAMPLE / "eng.testb"), "--output", str(pred)]) == 0
    lines = pred.read_text(encoding="utf-8").splitlines()
    assert all(len(l.split()) == 3 for l in lines if l)       # word gold predicted
    scored = conlleval_lines(lines).accumulate()
    metrics, _, _ = api.evaluate(out / "best", "test")
    assert scored["f1"] == pytest.approx(metrics["f1"], abs=1e-6)


def test_sliding_windows_keep_every_word(trained):
    out, _ = trained
    metrics, metric, task = api.evaluate(out / "best", "test",
                                         overrides=["Data.max_seq_len=8", "Data.context=none"])
    words = sum(len(e["words"]) for e in task.load_examples("test"))
    assert metric.tokens == words


@pytest.mark.slow
@pytest.mark.ci
def test_bioes_scheme_trains_and_decodes_valid_sequences(tiny_ernie, tmp_path):
    from ernie_res.data.tagging import is_valid

    out = tmp_path / "bioes"
    api.train(config(out, tiny_ernie, "Data.scheme=BIOES", "Train.max_steps=12",
                     "Train.eval_steps=12"))
    labels = json.loads((out / "best" / "labels.json").read_text())
    assert any(l.startswith("S-") for l in labels) and any(l.startswith("E-") for l in labels)
    metrics, metric, task = api.evaluate(out / "best", "dev")
    preds = [metric.predicted_tags(k) for k in metric.sentences()]
    assert preds and all(is_valid(p, "BIOES") for p in preds)   # constrained Viterbi


@pytest.mark.parametrize("extra", [
    ["Model.head=softmax", "Model.num_res_blocks=1", "Model.use_attention=true",
     "Model.attention_heads=2"],
    ["Model.constrain_training=true", "Data.context=none", "Data.max_seq_len=12"],
])
def test_ablation_switches_train_and_evaluate(tiny_ernie, tmp_path, extra):
    out = tmp_path / "abl"
    state = api.train(config(out, tiny_ernie, "Train.max_steps=4", "Train.eval_steps=4",
                             "Data.max_examples=40", *extra))
    assert state["step"] == 4 and state["best"] is not None
    metrics, metric, task = api.evaluate(out / "best", "dev")
    assert metric.tokens == sum(len(e["words"]) for e in task.load_examples("dev"))
