"""ernie_res.Predictor: one API over a trained model directory (eager) and an exported
inference directory (Paddle Inference), on strings and JSON records, in input order."""
import json

import numpy as np
import pytest

from ernie_res import Predictor, api, inference_dir
from ernie_res.engine.inference_config import InferenceConfigError

TEXTS = ["the goalie stopped the puck in overtime", "",
         "space shuttle orbit launch " * 30, "which graphics card renders polygons"]


@pytest.fixture(scope="module")
def doc_dirs(trained, tmp_path_factory):
    best = trained("doc")
    out = tmp_path_factory.mktemp("doc_export") / "inference"
    inference_dir.export(best, out)
    return best, out


def test_the_path_is_detected_and_both_kinds_give_the_same_records(doc_dirs):
    best, exported = doc_dirs
    dynamic, deployed = Predictor(best), Predictor(exported)
    assert (dynamic.kind, deployed.kind) == ("dynamic", "inference")
    assert dynamic.task == deployed.task == "doc" and dynamic.labels == deployed.labels
    a, b = dynamic.predict(TEXTS, top_k=2), deployed.predict(TEXTS, top_k=2)
    assert [r["id"] for r in a] == [f"input:{n}" for n in range(1, 5)]
    assert a[1] == b[1] == {"id": "input:2", "blank": True}
    for x, y in zip(a, b):
        assert x.get("label") == y.get("label")
        np.testing.assert_allclose([t["prob"] for t in x.get("top_k", [])],
                                   [t["prob"] for t in y.get("top_k", [])], atol=2e-6)


def test_the_predictor_uses_omp_num_threads_like_the_dynamic_graph(doc_dirs, monkeypatch):
    _, exported = doc_dirs
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert Predictor(exported).options.cpu_threads == 3          # Paddle Inference alone: 1
    assert Predictor(exported, cpu_threads=1).options.cpu_threads == 1


def test_oneDNN_off_gives_the_same_probabilities(doc_dirs):
    _, exported = doc_dirs
    on = Predictor(exported).predict(TEXTS, top_k=4)
    off = Predictor(exported, enable_mkldnn=False, cpu_threads=1).predict(TEXTS, top_k=4)
    for x, y in zip(on, off):
        np.testing.assert_allclose([t["prob"] for t in x.get("top_k", [])],
                                   [t["prob"] for t in y.get("top_k", [])], atol=2e-6)


def test_records_strings_and_bad_inputs_keep_their_places(doc_dirs):
    _, exported = doc_dirs
    rows = Predictor(exported).predict(["plain text", {"text": "a record", "id": "mine"},
                                        {"no_text": 1}, 7, "  "])
    assert [r["id"] for r in rows] == ["input:1", "mine", "input:3", "input:4", "input:5"]
    assert "label" in rows[0] and "label" in rows[1]
    assert rows[2]["error"].startswith("input:3: expected an object with a string \"text\"")
    assert rows[3]["error"].startswith("input:4: ") and rows[4]["blank"] is True
    single = Predictor(exported).predict("just one string")
    assert len(single) == 1 and single[0]["id"] == "input:1"
    assert Predictor(exported).predict([]) == []


def test_the_file_and_stdin_paths_give_what_the_api_gives(doc_dirs, tmp_path):
    best, exported = doc_dirs
    inp = tmp_path / "docs.txt"
    inp.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    want = api.predict(best, inp, {"top_k": 2})
    got = Predictor(exported).predict_file(inp, top_k=2)
    assert [r.get("label") for r in got.rows] == [r.get("label") for r in want.rows]
    assert [r["id"] for r in got.rows] == [f"docs.txt:{n}" for n in range(1, 5)]
    piped = Predictor(exported).predict_bytes(inp.read_bytes(), "stdin", top_k=2)
    assert [r["id"] for r in piped.rows] == [f"stdin:{n}" for n in range(1, 5)]
    assert [json.loads(line)["id"] for line in piped.text.splitlines()] == \
        [f"stdin:{n}" for n in range(1, 5)]


def test_bucketing_changes_nothing_but_the_batches(doc_dirs):
    _, exported = doc_dirs
    texts = [" ".join(["word"] * n) for n in (3, 40, 1, 25, 7, 60, 2)]
    p = Predictor(exported, batch_size=2)
    sorted_rows, plain_rows = p.predict(texts, top_k=4), p.predict(texts, top_k=4, sort_window=0)
    assert [r["id"] for r in sorted_rows] == [r["id"] for r in plain_rows]
    for x, y in zip(sorted_rows, plain_rows):
        np.testing.assert_allclose([t["prob"] for t in x["top_k"]],
                                   [t["prob"] for t in y["top_k"]], atol=2e-6)


def test_options_are_checked(doc_dirs, tmp_path):
    best, exported = doc_dirs
    with pytest.raises(ValueError, match="top_k: expected an integer >= 1, got 0"):
        Predictor(exported).predict(["x"], top_k=0)
    with pytest.raises(InferenceConfigError, match="TensorRT runs on a GPU"):
        Predictor(exported, use_tensorrt=True)
    with pytest.raises(InferenceConfigError, match="fp16: runs on a GPU"):
        Predictor(exported, precision="fp16")
    with pytest.raises(InferenceConfigError, match="int8 needs a calibrated program"):
        Predictor(exported, precision="int8")
    with pytest.raises(InferenceConfigError, match="for exported models; .* is not an "
                                                   "inference directory"):
        Predictor(best, enable_mkldnn=True)
    with pytest.raises(FileNotFoundError, match="not an ernie_res model directory: missing "
                                                "config.yaml.*; nor is it an inference "
                                                "directory"):
        Predictor(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not an ernie_res model directory: missing "
                                                "labels.json"):
        Predictor(best.parent)                  # the run directory, not its best/


def test_strict_and_bad_text_errors_name_the_input(doc_dirs):
    _, exported = doc_dirs
    with pytest.raises(ValueError) as err:
        Predictor(exported).predict(["fine", {"no_text": 1}], strict=True)
    assert "input:2: expected an object" in str(err.value) and "/tmp" not in str(err.value)
    with pytest.raises(ValueError, match=r"input:2: expected text, got an unpaired surrogate"):
        Predictor(exported).predict(["fine", "bad \ud800 text"])


def test_an_int8_export_is_calibrated_quantized_and_close_to_fp32(doc_dirs, tmp_path):
    best, exported = doc_dirs
    int8 = tmp_path / "int8"
    inference_dir.export(best, int8, precision="int8", calib_samples=12)
    deploy = json.loads((int8 / "deploy.json").read_text())
    assert deploy["precision"] == "int8" and deploy["calibration"]["samples"] == 12
    from ernie_res.engine.quantize import quantized_ops

    ops = quantized_ops(int8 / "model")
    assert ops["quantize"] > 0 and ops["fc_int8"] > 0          # really int8, not fp32
    texts = [t for t in TEXTS if t] * 3
    fp32_rows = Predictor(exported).predict(texts, top_k=6)
    int8_rows = Predictor(int8).predict(texts, top_k=6)
    gaps = [abs(a["prob"] - b["prob"]) for a, b in zip(fp32_rows, int8_rows)]
    assert max(gaps) < 0.05
    with pytest.raises(InferenceConfigError, match="through oneDNN; drop --enable_mkldnn"):
        Predictor(int8, enable_mkldnn=False)
    with pytest.raises(InferenceConfigError, match="exported with --precision int8"):
        Predictor(int8, precision="fp32")


def test_int8_refuses_an_untested_paddle(monkeypatch):
    from ernie_res.engine import quantize

    monkeypatch.setattr(quantize, "_runtime_ready", False)
    monkeypatch.setattr(quantize.paddle, "__version__", "3.4.0")
    with pytest.raises(quantize.QuantizationError, match="tested on Paddle 3.3.x only; this "
                                                         "is Paddle 3.4.0"):
        quantize.prepare_int8_runtime()


TASK_INPUTS = {
    "seq": (["John lives in Paris .", {"tokens": ["New", "York", "is", "big"]}, "",
             "EU rejects German call to boycott British lamb ."], {}),
    "rel": (["The <e1>audits</e1> were about <e2>waste</e2> .",
             {"text": "puck hit goalie", "e1": [0, 4], "e2": [9, 15]}, "no markup"], {}),
    "gen": (["the company said it will buy shares", "new york stock prices fell"],
            {"mode": "reconstruct", "decoding": "greedy", "max_len": 8}),
}


def _probs(row):
    return [t["prob"] for t in row.get("top_k", [])]


@pytest.mark.parametrize("onednn", [True, False])
@pytest.mark.parametrize("task", sorted(TASK_INPUTS))
def test_every_task_exports_and_predicts_what_its_model_directory_predicts(
        task, onednn, trained, tmp_path_factory):
    best = trained(task)
    exported = tmp_path_factory.getbasetemp() / f"export_{task}"
    if not exported.exists():
        inference_dir.export(best, exported)
    inputs, options = TASK_INPUTS[task]
    want = Predictor(best).predict(inputs, **options)
    got = Predictor(exported, enable_mkldnn=onednn).predict(inputs, **options)
    assert [r["id"] for r in got] == [r["id"] for r in want]
    for a, b in zip(got, want):
        assert {k: v for k, v in a.items() if k not in ("prob", "top_k")} == \
            {k: v for k, v in b.items() if k not in ("prob", "top_k")}     # labels, tags, text
        np.testing.assert_allclose(_probs(a), _probs(b), atol=1e-5)
    if task == "gen":
        samples = [Predictor(p).predict([], mode="sample", num_samples=3, max_len=6, seed=3)
                   for p in (best, exported)]
        assert samples[0] == samples[1]
        inter = Predictor(exported).predict(inputs, mode="interpolate", steps=2,
                                            decoding="greedy", max_len=5)
        assert [r["id"] for r in inter] == ["input:1->input:2:0", "input:1->input:2:1"]
