"""The self-contained inference directory: what export writes, what it refuses, and the
checks that reading it makes."""
import json
import shutil

import pytest

from ernie_res import inference_dir
from ernie_res.inference_dir import InferenceDirError, export, read_inference_dir


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("inference_dir") / "inference"
    files = export(trained("doc"), out)
    return out, files


def test_export_writes_programs_tokenizer_labels_config_and_deploy(exported, trained):
    out, files = exported
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == sorted(str(out / n) for n in names)
    assert {"deploy.json", "config.yaml", "labels.json", "model.json", "model.pdiparams",
            "tokenizer/vocab.txt"} <= set(names)
    assert not any(n.endswith((".safetensors", ".pdparams")) or n == "tokenizer/config.json"
                   for n in names)                       # no training weights, no backbone
    deploy = json.loads((out / "deploy.json").read_text())
    assert deploy["format"] == "ernie_res-inference" and deploy["version"] == 1
    assert (deploy["task"], deploy["model"], deploy["precision"]) == ("doc", "doc_classifier",
                                                                     "fp32")
    assert deploy["programs"]["model"]["outputs"] == ["probs"]
    assert deploy["exported_from"] == str(trained("doc")) and deploy["calibration"] is None
    config, labels, again = read_inference_dir(out)
    assert config.Global.task == "doc" and labels == json.loads(
        (trained("doc") / "labels.json").read_text()) and again == deploy


def test_export_replaces_an_earlier_export_and_refuses_other_directories(exported, trained,
                                                                          tmp_path):
    best = trained("doc")
    target = tmp_path / "inf"
    export(best, target)
    (target / "stale.txt").write_text("from before")
    export(best, target)                                   # an inference dir: replaced whole
    assert not (target / "stale.txt").exists() and not (tmp_path / "inf.tmp").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InferenceDirError, match="holds other files"):
        export(best, other)
    assert (other / "notes.txt").read_text() == "keep me"
    with pytest.raises(InferenceDirError, match="outside the model directory"):
        export(best, best / "inference")
    with pytest.raises(InferenceDirError, match="fp32 or int8 at export"):
        export(best, tmp_path / "half", precision="fp16")
    with pytest.raises(InferenceDirError, match="only int8 export is calibrated"):
        export(best, tmp_path / "x", calib_samples=10)


def test_reading_names_what_is_wrong(exported, tmp_path):
    out, _ = exported
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    (bad / "model.pdiparams").unlink()
    with pytest.raises(FileNotFoundError, match="incomplete: missing model.pdiparams"):
        read_inference_dir(bad)
    (bad / "tokenizer" / "vocab.txt").unlink()
    with pytest.raises(FileNotFoundError, match="missing tokenizer/vocab.txt"):
        read_inference_dir(bad)
    newer = tmp_path / "newer"
    shutil.copytree(out, newer)
    deploy = json.loads((newer / "deploy.json").read_text())
    (newer / "deploy.json").write_text(json.dumps(dict(deploy, version=2)))
    with pytest.raises(InferenceDirError, match="version 2; this ernie_res reads version 1"):
        read_inference_dir(newer)
    (newer / "deploy.json").write_text("{not json")
    with pytest.raises(InferenceDirError, match="deploy.json: expected the deploy description"):
        read_inference_dir(newer)
    assert inference_dir.is_inference_dir(out) and not inference_dir.is_inference_dir(tmp_path)
