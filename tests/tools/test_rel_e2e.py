"""REL end to end on the bundled SemEval-layout sample with a tiny ERNIE: train, eval (answer
files), infer, and the marker setup across save/reload."""
import json
from pathlib import Path

import numpy as np
import pytest

from ernie_res.api import load_config
from ernie_res.data.semeval import LABELS, read_semeval
from ernie_res import api
from ernie_res.engine.vdl import read_scalars
from ernie_res.metrics.semeval import score_answer_file, write_answer_file

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data/sample/semeval2010"
MARKERS = ["[E1]", "[/E1]", "[E2]", "[/E2]"]




def config(out, tiny, *extra):
    return load_config(ROOT / "configs/rel/semeval2010_tiny.yaml", [
        f"Global.output_dir={out}", f"Model.backbone={tiny}", "Global.log_interval=1",
        "Train.max_steps=40", "Train.eval_steps=20", "Data.max_seq_len=48", *extra])


@pytest.fixture(scope="module")
def trained(tiny_ernie, tmp_path_factory):
    out = tmp_path_factory.mktemp("rel_run")
    state = api.train(config(out, tiny_ernie))
    return out, state


def test_training_reduces_loss_and_logs_everything(trained):
    from visualdl import LogReader

    out, state = trained
    losses = [v for _, v in read_scalars(out / "vdl")["train/loss"]]
    assert len(losses) == 40
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3
    for d in ("best", "latest"):
        for f in ("model.safetensors", "config.yaml", "labels.json", "backbone/config.json",
                  "backbone/vocab.txt"):
            assert (out / d / f).is_file(), f"{d}/{f}"
    assert json.loads((out / "best/labels.json").read_text()) == list(LABELS)
    assert [h["step"] for h in state["history"]] == [20, 40]
    tags = {}
    for f in (out / "vdl").glob("vdlrecords.*.log"):
        for kind, names in LogReader(file_path=str(f)).get_tags().items():
            tags.setdefault(kind, set()).update(names)
    assert {"train/loss", "train/lr", "eval/macro_f1", "eval/accuracy", "eval/loss",
            "eval/f1_Cause-Effect", "eval/f1_Product-Producer"} <= tags["scalar"]
    assert {f"pr_curve/{label}" for label in LABELS} <= tags["pr_curve"]
    assert "eval/confusion_matrix" in tags["image"]


def test_markers_survive_the_checkpoint_and_eval_reproduces_dev(trained, tiny_ernie, capsys,
                                                                tool):
    from paddlenlp.transformers import AutoTokenizer

    out, state = trained
    tok = AutoTokenizer.from_pretrained(str(out / "best/backbone"))
    assert tok.tokenize("the [E1] lecture [/E1] on [E2] taxes [/E2] .")[1::2][:4] == \
        ["[E1]", "[/E1]", "[E2]", "[/E2]"]
    base = json.loads((Path(tiny_ernie) / "config.json").read_text())["vocab_size"]
    saved = json.loads((out / "best/backbone/config.json").read_text())["vocab_size"]
    assert saved == base + 4 and tok.convert_tokens_to_ids(MARKERS) == list(range(base, base + 4))
    metrics, _, _ = api.evaluate(out / "best", "dev")
    assert metrics["macro_f1"] == state["best"]                   # bit-for-bit the same
    assert dict(read_scalars(out / "vdl")["eval/macro_f1"])[state["best_step"]] == \
        pytest.approx(state["best"], abs=1e-4)
    assert tool("eval").main(["--model_dir", str(out / "best"), "--split", "dev"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["macro_f1"] == pytest.approx(state["best"], abs=1e-6)


def test_answer_file_scores_like_eval(trained, tmp_path, capsys, tool):
    out, _ = trained
    answer = tmp_path / "answers" / "proposed.txt"
    assert tool("eval").main(["--model_dir", str(out / "best"), "--answer_file",
                              str(answer)]) == 0
    printed = capsys.readouterr().out
    assert "(9+1)-way evaluation with directionality taken into account" in printed
    metrics = json.loads(printed.strip().splitlines()[-1])
    gold = read_semeval(SAMPLE / "TEST_FILE_FULL.TXT")
    text = answer.read_bytes().decode("utf-8")
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(gold) == 60   # every line ends in \n
    assert [l.split("\t")[0] for l in lines[:-1]] == [e["id"] for e in gold]
    assert all(l.split("\t")[1] in LABELS for l in lines[:-1])
    key = tmp_path / "key.txt"
    write_answer_file(key, [e["id"] for e in gold], [e["label"] for e in gold])
    scored = score_answer_file(answer, key).accumulate()
    assert scored["macro_f1"] == pytest.approx(metrics["macro_f1"], abs=1e-6)
    assert scored["accuracy"] == pytest.approx(metrics["accuracy"], abs=1e-6)


def test_unlabelled_test_file_with_key_scores_the_same(trained, tmp_path):
    out, _ = trained
    raw = (SAMPLE / "TEST_FILE_FULL.TXT").read_bytes().decode("utf-8").split("\r\n")
    (tmp_path / "TEST_FILE.TXT").write_bytes("".join(l + "\r\n" for l in raw[0::4] if l)
                                             .encode("utf-8"))
    (tmp_path / "TEST_FILE_KEY.TXT").write_bytes("".join(
        f"{s.split(chr(9))[0]}\t{lab}\r\n" for s, lab in zip(raw[0::4], raw[1::4]) if s)
        .encode("utf-8"))
    full, _, _ = api.evaluate(out / "best", "test")
    keyed, _, _ = api.evaluate(out / "best", "test", overrides=[
        f"Data.root={tmp_path}", "Data.test_file=TEST_FILE.TXT",
        "Data.test_key=TEST_FILE_KEY.TXT"])
    assert keyed == full
    with pytest.raises(ValueError, match="has 60 unlabelled examples; set Data.test_key"):
        api.evaluate(out / "best", "test", overrides=[f"Data.root={tmp_path}",
                                                      "Data.test_file=TEST_FILE.TXT"])


def test_infer_mixed_inputs_one_row_per_line(trained, tmp_path, tool):
    out, _ = trained
    marked = tmp_path / "in.txt"
    marked.write_text('8001\t"The <e1>virus</e1> caused severe <e2>fever</e2>."\n'
                      "The <e1>lecture</e1> was about <e2>taxes.\n"
                      "\n"
                      "All the <e1>coins</e1> sat inside the old <e2>box</e2>.\n",
                      encoding="utf-8")
    assert tool("infer").main(["--model_dir", str(out / "best"), "--input", str(marked),
                               "--output", str(tmp_path / "p.jsonl"), "--top_k", "3"]) == 0
    result = api.predict(out / "best", marked, {"top_k": 3})
    records, errors = result.records, result.errors
    rows = [json.loads(l) for l in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert (tmp_path / "p.jsonl").read_text() == result.text
    assert [r["id"] for r in rows] == ["8001", "in.txt:2", "in.txt:3", "in.txt:4"]
    assert rows.pop(2) == {"id": "in.txt:3", "blank": True}  # a blank line is answered in place
    assert rows[1] == {"id": "in.txt:2", "error": f"{marked}:2: expected exactly one </e2>, "
                                                  f"got 0 in 'The <e1>lecture</e1> was about "
                                                  f"<e2>taxes.'"}
    assert len(records) == 2 and len(errors) == 1 and errors[0]["line"] == 2
    for r in (rows[0], rows[2]):
        assert r["label"] in LABELS and len(r["top_k"]) == 3
        assert r["top_k"][0] == {"label": r["label"], "prob": r["prob"]}
        if r["label"] == "Other":
            assert r["relation"] == "Other" and r["direction"] is None
        else:
            assert r["label"] == f"{r['relation']}({r['direction']})"
    assert (rows[0]["e1"], rows[0]["e2"], rows[2]["e1"]) == ("virus", "fever", "coins")

    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(json.dumps({"text": "The virus caused fever.", "e1": [4, 9],
                                 "e2": [17, 22], "id": 7}) + "\n"
                     + json.dumps({"text": "The virus caused fever.", "e1": [4, 9],
                                   "e2": [6, 12]}) + "\n", encoding="utf-8")
    rows = [json.loads(l) for l in api.predict(out / "best", jsonl).text.splitlines()]
    assert [r["id"] for r in rows] == ["7", "in.jsonl:2"]
    assert rows[0]["e1"] == "virus" and rows[0]["e2"] == "fever"
    assert rows[1]["error"] == (f"{jsonl}:2: expected non-overlapping e1 and e2, got [4, 9] "
                                f"and [6, 12]")
