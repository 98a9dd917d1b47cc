"""End to end on the bundled sample with a tiny ERNIE: train, eval, infer, resume."""
import json
from pathlib import Path

import numpy as np
import pytest

from ernie_res.api import load_config
from ernie_res import api
from ernie_res.engine.trainer import Trainer
from ernie_res.engine.vdl import read_scalars
from ernie_res.models.safe_state import load_tensors

ROOT = Path(__file__).resolve().parents[2]




def config(out, tiny, *extra):
    return load_config(ROOT / "configs/doc/20ng_tiny.yaml", [
        f"Global.output_dir={out}", f"Model.backbone={tiny}", "Global.log_interval=1",
        "Train.max_steps=24", "Train.eval_steps=8", "Train.batch_size=8",
        "Data.max_seq_len=64", "Data.head_tokens=16", *extra])


@pytest.fixture(scope="module")
def trained(tiny_ernie, tmp_path_factory):
    out = tmp_path_factory.mktemp("doc_run")
    state = api.train(config(out, tiny_ernie))
    return out, state


def test_loss_decreases_and_dirs_written(trained):
    out, state = trained
    losses = [v for _, v in read_scalars(out / "vdl")["train/loss"]]
    assert len(losses) == 24
    assert np.mean(losses[-6:]) < np.mean(losses[:6]) - 0.1
    for d in ("best", "latest"):
        for f in ("model.safetensors", "COMPLETE", "config.yaml", "labels.json",
                  "backbone/vocab.txt", "backbone/config.json"):
            assert (out / d / f).is_file(), f"{d}/{f}"
    assert (out / "latest" / "training_state.json").is_file()
    assert not (out / "best" / "training_state.json").exists()
    assert (out / "config.yaml").is_file() and (out / "train.log").is_file()
    assert "samples/s" in (out / "train.log").read_text() and "eta" in (out / "train.log").read_text()
    assert [h["step"] for h in state["history"]] == [8, 16, 24]


def test_visualdl_has_expected_tags(trained):
    from visualdl import LogReader

    out, _ = trained
    tags = {}
    for f in (out / "vdl").glob("vdlrecords.*.log"):
        for kind, names in LogReader(file_path=str(f)).get_tags().items():
            tags.setdefault(kind, set()).update(names)
    assert {"train/loss", "train/lr", "train/grad_norm", "train/samples_per_sec",
            "eval/accuracy", "eval/macro_f1", "eval/loss"} <= tags["scalar"]
    labels = json.loads((out / "best" / "labels.json").read_text())
    assert {f"pr_curve/{l}" for l in labels} <= tags["pr_curve"]
    assert "eval/confusion_matrix" in tags["image"]
    assert tags.get("hyper_parameters")


def test_eval_reproduces_logged_metric(trained, capsys, tool):
    out, state = trained
    rc = tool("eval").main(["--model_dir", str(out / "best"), "--split", "dev"])
    assert rc == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["accuracy"] == pytest.approx(state["best"], abs=1e-4)
    logged = read_scalars(out / "vdl")["eval/accuracy"]
    assert dict(logged)[state["best_step"]] == pytest.approx(last["accuracy"], abs=1e-4)


def test_infer_writes_one_prediction_per_input(trained, tmp_path, tool):
    out, _ = trained
    txt = tmp_path / "in.txt"
    txt.write_text("the goalie stopped the puck\n\nspace shuttle orbit\n", encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    assert tool("infer").main(["--model_dir", str(out / "best"), "--input", str(txt),
                               "--output", str(pred), "--top_k", "2"]) == 0
    rows = [json.loads(l) for l in pred.read_text().splitlines()]
    labels = json.loads((out / "best" / "labels.json").read_text())
    assert len(rows) == 3 and [r["id"] for r in rows] == ["in.txt:1", "in.txt:2", "in.txt:3"]
    assert rows[1] == {"id": "in.txt:2", "blank": True}     # a blank line is answered in place
    for r in rows[::2]:
        assert r["label"] in labels and 0 < r["prob"] <= 1 and len(r["top_k"]) == 2
        assert r["top_k"][0]["label"] == r["label"]
    js = tmp_path / "in.jsonl"
    js.write_text('{"id": "a", "text": "hockey game"}\nnot json\n{"text": "car engine"}\n')
    assert tool("infer").main(["--model_dir", str(out / "best"), "--input", str(js),
                               "--output", str(pred)]) == 0
    rows = [json.loads(l) for l in pred.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "in.jsonl:2", "in.jsonl:3"]
    assert "error" in rows[1] and "in.jsonl:2" in rows[1]["error"]
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_bytes(b"the goalie and the puck")
    (docs / "sub" / "b").write_bytes(b"caf\xe9 engine oil")          # latin-1, like 20NG
    assert tool("infer").main(["--model_dir", str(out / "best"), "--input", str(docs),
                               "--output", str(pred)]) == 0
    rows = [json.loads(l) for l in pred.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a.txt", "sub/b"] and all("label" in r for r in rows)


class Interrupt(Exception):
    pass


@pytest.mark.slow
@pytest.mark.ci
def test_resume_matches_uninterrupted_run(tiny_ernie, tmp_path, monkeypatch):
    full = tmp_path / "full"
    api.train(config(full, tiny_ernie, "Train.max_steps=16"))
    cut = tmp_path / "cut"
    original = Trainer._evaluate_and_save

    def crash_after_first_save(self, state, dev):
        original(self, state, dev)
        raise Interrupt()

    monkeypatch.setattr(Trainer, "_evaluate_and_save", crash_after_first_save)
    with pytest.raises(Interrupt):
        api.train(config(cut, tiny_ernie, "Train.max_steps=16"))
    monkeypatch.setattr(Trainer, "_evaluate_and_save", original)
    assert json.loads((cut / "latest" / "meta.json").read_text())["step"] == 8
    api.train(config(cut, tiny_ernie, "Train.max_steps=16"), resume=cut / "latest")
    a = dict(read_scalars(full / "vdl")["train/loss"])
    b = dict(read_scalars(cut / "vdl")["train/loss"])
    assert sorted(b) == list(range(1, 17))
    for step in range(9, 17):
        assert b[step] == pytest.approx(a[step], abs=1e-5), step
    ea = dict(read_scalars(full / "vdl")["eval/accuracy"])
    eb = dict(read_scalars(cut / "vdl")["eval/accuracy"])
    assert eb[16] == pytest.approx(ea[16], abs=1e-6)


@pytest.mark.slow
def test_chunks_mode_and_ablation_switches_train(tiny_ernie, tmp_path):
    state = api.train(config(tmp_path / "c", tiny_ernie, "Train.max_steps=4",
                             "Train.eval_steps=4", "Data.truncation=chunks",
                             "Data.max_chunks=3", "Data.max_seq_len=32",
                             "Model.num_res_blocks=0", "Model.pooling=mean"))
    assert state["step"] == 4 and state["best"] is not None


def test_bad_config_and_missing_data_fail_clearly(tiny_ernie, tmp_path, capsys, tool):
    train = tool("train")
    assert train.main(["-c", str(ROOT / "configs/doc/20ng_tiny.yaml"), "-o",
                       "Train.epoch=2"]) == 2
    assert "did you mean Train.epochs" in capsys.readouterr().err
    assert train.main(["-c", str(ROOT / "configs/doc/20ng_tiny.yaml"), "-o",
                       f"Global.output_dir={tmp_path / 'o'}", f"Model.backbone={tiny_ernie}",
                       f"Data.root={tmp_path / 'nodata'}"]) == 2
    err = capsys.readouterr().err
    assert "nodata" in err and "download_data.py 20ng" in err


@pytest.mark.slow
@pytest.mark.ci
def test_data_parallel_launch_on_cpu(tiny_ernie, tmp_path):
    """Two CPU processes under paddle.distributed.launch: rank 0 alone logs and saves."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = tmp_path / "dp"
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
           "--log_dir", str(tmp_path / "log"), str(ROOT / "tools/train.py"),
           "-c", str(ROOT / "configs/doc/20ng_tiny.yaml"), "-o", f"Global.output_dir={out}",
           f"Model.backbone={tiny_ernie}", "Train.max_steps=6", "Train.eval_steps=3",
           "Data.max_seq_len=32", "Global.log_interval=1"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:   # two gloo processes on 2 busy cores: one retry, then fail loudly
        first = r.stdout[-2000:] + r.stderr[-2000:]
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, first + "\n--- retry ---\n" + r.stdout[-3000:] + r.stderr[-3000:]
    assert "world size 2" in (out / "train.log").read_text()
    assert "x 2 device(s)" in (out / "train.log").read_text()
    assert (out / "best" / "model.safetensors").is_file()
    worker1 = (tmp_path / "log" / "workerlog.1").read_text()
    assert "eval @ step" not in worker1 and "ernie_res train" not in worker1
    losses = read_scalars(out / "vdl")["train/loss"]
    assert [s for s, _ in losses] == list(range(1, 7))


@pytest.mark.slow
@pytest.mark.ci
def test_export_then_infer_on_the_export_gives_what_the_model_directory_gives(
        trained, tmp_path, tool, capsys):
    out, _ = trained
    inference = tmp_path / "inference"
    assert tool("export_model").main(["--model_dir", str(out / "best"),
                                      "--output", str(inference)]) == 0
    listed = capsys.readouterr().out.split()
    assert str(inference / "deploy.json") in listed and str(inference / "model.json") in listed
    inp = tmp_path / "docs.txt"
    inp.write_text("the goalie stopped the puck\n\nshuttle orbit launch\n", encoding="utf-8")
    rows = {}
    for name, model_dir in (("dynamic", out / "best"), ("exported", inference)):
        assert tool("infer").main(["--model_dir", str(model_dir), "--input", str(inp),
                                   "--top_k", "4"]) == 0
        rows[name] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("label") for r in rows["dynamic"]] == [r.get("label") for r in rows["exported"]]
    for a, b in zip(rows["dynamic"], rows["exported"]):
        np.testing.assert_allclose([t["prob"] for t in a.get("top_k", [])],
                                   [t["prob"] for t in b.get("top_k", [])], atol=2e-6)
    assert tool("infer").main(["--model_dir", str(inference), "--text", "puck", "--text", "",
                               "--enable_mkldnn", "false", "--cpu_threads", "1"]) == 0
    texts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in texts] == ["input:1", "input:2"] and texts[1]["blank"] is True
    assert tool("infer").main(["--model_dir", str(inference), "--text", "x",
                               "--precision", "fp16"]) == 2
    assert "fp16: runs on a GPU" in capsys.readouterr().err


def test_masked_batchnorm_variant_trains(tiny_ernie, tmp_path):
    state = api.train(config(tmp_path / "bn", tiny_ernie, "Train.max_steps=4",
                             "Train.eval_steps=4", "Model.res_norm=batch",
                             "Model.pooling=cls", "Data.max_examples=40"))
    assert state["step"] == 4 and state["best"] is not None


def test_early_stopping_ends_training_and_keeps_the_best(tiny_ernie, tmp_path):
    # a learning rate of ~0 cannot improve the dev accuracy after the first evaluation
    state = api.train(config(tmp_path / "es", tiny_ernie, "Train.max_steps=20",
                             "Train.eval_steps=2", "Train.early_stopping_patience=2",
                             "Optimizer.lr=1e-12", "Optimizer.head_lr=1e-12",
                             "Model.dropout=0.0", "Data.max_examples=40"))
    assert [h["step"] for h in state["history"]] == [2, 4, 6]
    assert state["step"] == 6 and state["best_step"] == 2 and state["bad_evals"] == 2
    log = (tmp_path / "es" / "train.log").read_text()
    assert "early stopping: accuracy has not improved for 2 evaluations" in log


def test_gradient_accumulation_matches_one_big_batch(tmp_path):
    """Batch 8 and 2 x 4 accumulated give the same loss and the same update (no dropout)."""
    from ernie_res.models.tiny_ernie import make_tiny_ernie

    tiny = make_tiny_ernie(tmp_path / "tiny", [ROOT / "data/sample/20news-bydate"],
                           hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
                           max_position=128, max_words=500, dropout=0.0)
    common = ["Train.max_steps=2", "Train.eval_steps=2", "Model.dropout=0.0",
              "Data.max_examples=40", "Optimizer.warmup_ratio=0.0",
              "Optimizer.schedule=constant", "Train.max_grad_norm=0.0"]
    api.train(config(tmp_path / "big", tiny, "Train.batch_size=8", *common))
    api.train(config(tmp_path / "acc", tiny, "Train.batch_size=4",
                     "Train.grad_accum_steps=2", *common))
    la = dict(read_scalars(tmp_path / "big" / "vdl")["train/loss"])
    lb = dict(read_scalars(tmp_path / "acc" / "vdl")["train/loss"])
    assert lb[1] == pytest.approx(la[1], abs=1e-5)       # mean of the micro-batch means
    assert lb[2] == pytest.approx(la[2], abs=1e-4)       # after one identical update
    a = load_tensors(tmp_path / "big" / "latest" / "model.safetensors")
    b = load_tensors(tmp_path / "acc" / "latest" / "model.safetensors")
    for k in ("classifier.weight", "classifier.bias"):   # large gradients: robust under Adam
        np.testing.assert_allclose(a[k].numpy(), b[k].numpy(), atol=2e-5, err_msg=k)
