"""``api.predict`` and ``tools/infer.py``: output line N answers input line N (issue #10, §5).

The model directories are stood in for by untrained tiny models (``api.load_model_dir`` is
replaced), so nothing is trained here: what is tested is the order and the shape of the rows,
the summary on standard error, ``--strict`` and the refused option values.

Every input line gets one output row: a prediction, ``{"id", "error"}`` for a bad record, or
``{"id", "blank": true}`` for a blank line, whatever the ids are.
"""
import json
from pathlib import Path

import paddle
import pytest

from ernie_res import api
from ernie_res.models.backbone import load_backbone
from ernie_res.tasks.doc import DocTask
from ernie_res.tasks.gen import GenTask
from ernie_res.tasks.seq import SeqTask

ROOT = Path(__file__).resolve().parents[2]


def stand_in(monkeypatch, config, task, model):
    def load_model_dir(model_dir, overrides=(), device="auto"):
        return config, task, model, {}
    monkeypatch.setattr(api, "load_model_dir", load_model_dir)


@pytest.fixture(scope="module")
def doc(tiny_ernie):
    config = api.load_config(ROOT / "configs/doc/20ng_tiny.yaml", [
        f"Model.backbone={tiny_ernie}", "Data.max_seq_len=32", "Data.head_tokens=8"])
    encoder, tok = load_backbone(str(tiny_ernie))
    task = DocTask(config, tok, labels=["rec.sport.hockey", "sci.space", "talk.politics.guns"])
    paddle.seed(0)
    model = task.build_model(encoder)
    model.eval()
    return config, task, model


@pytest.fixture(scope="module")
def gen(tiny_ernie):
    config = api.load_config(ROOT / "configs/gen/ptb_vae_tiny.yaml", [
        f"Model.backbone={tiny_ernie}", "Model.latent_size=4", "Model.decoder_hidden=16"])
    encoder, tok = load_backbone(str(tiny_ernie))
    task = GenTask(config, tok, labels=[])
    paddle.seed(0)
    model = task.build_model(encoder)
    model.eval()
    return config, task, model


@pytest.fixture(scope="module")
def seq(tiny_ernie):
    config = api.load_config(ROOT / "configs/seq/conll03_tiny.yaml", [
        f"Model.backbone={tiny_ernie}", "Data.max_seq_len=32"])
    encoder, tok = load_backbone(str(tiny_ernie))
    task = SeqTask(config, tok, labels=["O", "B-LOC", "B-PER", "I-LOC", "I-PER"])
    paddle.seed(0)
    model = task.build_model(encoder)
    model.eval()
    return config, task, model


def rows_of(result):
    return [json.loads(line) for line in result.text.splitlines()]


def jsonl(path, objs):
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs),
                    encoding="utf-8")
    return path


TEXTS = ["the goalie stopped the puck", "space shuttle orbit launch", "a gun law debate"]


# ---------------------------------------------------------------- order
def test_duplicate_ids_keep_the_input_order(doc, monkeypatch, tmp_path):
    stand_in(monkeypatch, *doc)
    distinct = rows_of(api.predict("M", jsonl(tmp_path / "a.jsonl",
                                              [{"id": str(i), "text": t}
                                               for i, t in enumerate(TEXTS)])))
    same = rows_of(api.predict("M", jsonl(tmp_path / "b.jsonl",
                                          [{"id": i, "text": t}
                                           for i, t in zip("xyx", TEXTS)])))
    assert [r["id"] for r in same] == ["x", "y", "x"]
    assert [r["top_k"] for r in same] == [r["top_k"] for r in distinct]


def test_every_input_line_has_its_row_in_place(doc, monkeypatch, tmp_path):
    stand_in(monkeypatch, *doc)
    path = jsonl(tmp_path / "in.jsonl", [{"id": "x", "text": TEXTS[0]}, "not json", "",
                                         {"id": "x", "text": TEXTS[1]}, {"txt": "no text"},
                                         {"id": "x", "text": TEXTS[2]}])
    result = api.predict("M", path)
    rows = rows_of(result)
    assert len(rows) == 6                                  # output line N answers input line N
    assert ["label" in r for r in rows] == [True, False, False, True, False, True]
    assert rows[1] == {"id": "in.jsonl:2", "error": rows[1]["error"]}
    assert rows[1]["error"].startswith(f"{path}:2: ")
    assert rows[2] == {"id": "in.jsonl:3", "blank": True}
    assert rows[4]["error"].startswith(f"{path}:5: ")
    assert len(result.records) == 3 and [e["line"] for e in result.errors] == [2, 5]
    assert [(b["id"], b["line"]) for b in result.blank] == [("in.jsonl:3", 3)]
    alone = rows_of(api.predict("M", jsonl(tmp_path / "one.jsonl",
                                           [{"id": "x", "text": TEXTS[1]}])))
    assert rows[3]["top_k"] == alone[0]["top_k"]          # line 4's own prediction


def test_text_lines_with_form_feeds_give_one_row_each(doc, monkeypatch, tmp_path):
    stand_in(monkeypatch, *doc)
    path = tmp_path / "posts.txt"
    path.write_text("first post\fwith a form feed\nsecond\x1cpost\nthird\u2028post\n",
                    encoding="utf-8")
    rows = rows_of(api.predict("M", path))
    assert [r["id"] for r in rows] == ["posts.txt:1", "posts.txt:2", "posts.txt:3"]


def test_gen_reconstruct_rows_follow_the_input(gen, monkeypatch, tmp_path):
    stand_in(monkeypatch, *gen)
    path = tmp_path / "sents.txt"
    path.write_bytes(b"the company said\n\ncaf\xe9 prices\nshares fell\n")
    result = api.predict("M", path, {"mode": "reconstruct", "decoding": "greedy",
                                     "max_len": 4})
    rows = rows_of(result)
    assert [r["id"] for r in rows] == ["sents.txt:1", "sents.txt:2", "sents.txt:3",
                                       "sents.txt:4"]
    assert rows[0]["input"] == "the company said" and rows[3]["input"] == "shares fell"
    assert rows[1] == {"id": "sents.txt:2", "blank": True}
    assert rows[2]["error"] == (f"{path}:3: expected UTF-8 text, got undecodable byte 0xe9 "
                                f"at column 4")
    inter = rows_of(api.predict("M", path, {"mode": "interpolate", "steps": 2,
                                            "decoding": "greedy", "max_len": 4}))
    assert [r["id"] for r in inter] == ["sents.txt:1->sents.txt:4:0",
                                        "sents.txt:1->sents.txt:4:1", "sents.txt:2",
                                        "sents.txt:3"]


def test_seq_jsonl_input_is_tagged_as_json_not_as_punctuation(seq, monkeypatch, tmp_path):
    stand_in(monkeypatch, *seq)
    path = jsonl(tmp_path / "in.jsonl", [{"text": "John lives in Paris ."}, "",
                                         {"id": "t", "tokens": ["New", "York"]}])
    rows = rows_of(api.predict("M", path))
    assert [r["id"] for r in rows] == ["in.jsonl:1", "in.jsonl:2", "t"]
    assert rows[0]["words"] == ["John", "lives", "in", "Paris", "."]
    assert rows[1] == {"id": "in.jsonl:2", "blank": True}
    assert rows[2]["words"] == ["New", "York"] and len(rows[2]["tags"]) == 2
    for e in rows[0]["entities"]:
        assert "John lives in Paris ."[e["start"]:e["end"]] == e["text"]
    for e in rows[2]["entities"]:
        assert " ".join(rows[2]["words"][e["word_start"]:e["word_end"]]) == e["text"]


# ---------------------------------------------------------------- tools/infer.py
def test_summary_on_stderr_after_bad_records(doc, monkeypatch, tmp_path, tool, capsys):
    stand_in(monkeypatch, *doc)
    path = jsonl(tmp_path / "in.jsonl", [{"text": TEXTS[0]}, "not json", "", {"text": 3}])
    out = tmp_path / "pred.jsonl"
    assert tool("infer").main(["--model_dir", "M", "--input", str(path), "--output",
                               str(out)]) == 0
    err = capsys.readouterr().err
    assert f"skipped: {path}:2: " in err and f"skipped: {path}:4: " in err
    assert ("summary: 4 input lines: 1 predicted, 2 bad records (an \"error\" row each), "
            "1 blank line (a \"blank\" row); use --strict to refuse bad records") in err
    assert f"1 predictions written to {out}" in err
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4


def test_strict_makes_a_bad_record_fatal_and_writes_nothing(doc, monkeypatch, tmp_path, tool,
                                                            capsys):
    stand_in(monkeypatch, *doc)
    path = jsonl(tmp_path / "in.jsonl", [{"text": TEXTS[0]}, "not json", {"text": TEXTS[1]}])
    out = tmp_path / "pred.jsonl"
    rc = tool("infer").main(["--model_dir", "M", "--input", str(path), "--output", str(out),
                             "--strict"])
    captured = capsys.readouterr()
    assert rc == 2 and not out.exists() and captured.out == ""
    assert f"{path}:2: " in captured.err
    assert "strict: 1 bad input record; nothing predicted or written" in captured.err
    rc = tool("infer").main(["--model_dir", "M", "--input", str(path), "--strict"])
    assert rc == 2 and capsys.readouterr().out == ""               # nor to standard output
    good = jsonl(tmp_path / "good.jsonl", [{"text": TEXTS[0]}, "", {"text": TEXTS[1]}])
    assert tool("infer").main(["--model_dir", "M", "--input", str(good), "--output",
                               str(out), "--strict"]) == 0          # blank lines are not bad
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3


@pytest.mark.parametrize("argv, message", [
    (["--top_k", "0"], "argument --top_k: expected an integer >= 1, got '0'"),
    (["--batch_size", "0"], "argument --batch_size: expected an integer >= 1, got '0'"),
    (["--batch_size", "-3"], "argument --batch_size: expected an integer >= 1, got '-3'"),
    (["--num_samples", "0"], "argument --num_samples: expected an integer >= 1, got '0'"),
    (["--beam_size", "0"], "argument --beam_size: expected an integer >= 1, got '0'"),
    (["--steps", "1"], "argument --steps: expected an integer >= 2, got '1'"),
    (["--max_len", "-1"], "argument --max_len: expected an integer >= 0, got '-1'"),
    (["--sample_top_k", "-1"], "argument --sample_top_k: expected an integer >= 0, got '-1'"),
    (["--temperature", "0"], "argument --temperature: expected a number > 0, got '0'"),
    (["--temperature", "-0.5"], "argument --temperature: expected a number > 0, got '-0.5'"),
    (["--temperature", "nan"], "argument --temperature: expected a number > 0, got 'nan'"),
    (["--top_p", "0"], "argument --top_p: expected a number in (0, 1], got '0'"),
    (["--top_p", "1.5"], "argument --top_p: expected a number in (0, 1], got '1.5'"),
    (["--top_k", "two"], "argument --top_k: expected an integer >= 1, got 'two'"),
])
def test_bad_option_values_are_usage_errors(argv, message, tool, capsys):
    with pytest.raises(SystemExit) as exit_:
        tool("infer").main(["--model_dir", "M", "--input", "x.txt", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ") and message in err


def test_api_predict_refuses_bad_option_values(doc, monkeypatch, tmp_path):
    stand_in(monkeypatch, *doc)
    path = jsonl(tmp_path / "in.jsonl", [{"text": TEXTS[0]}])
    for options, message in (({"top_k": 0}, r"top_k: expected an integer >= 1, got 0"),
                             ({"batch_size": 0}, r"batch_size: expected an integer >= 1, got 0"),
                             ({"top_p": 0.0}, r"top_p: expected a number in \(0, 1\], got 0.0"),
                             ({"temperature": 0}, r"temperature: expected a number > 0, got 0")):
        with pytest.raises(ValueError, match=message):
            api.predict("M", path, options)
    api.predict("M", path, {"batch_size": None, "top_k": 1, "max_len": 0})   # None = default
