"""The assembly (ernie_res/api.py) on a tiny trained DOC model: what a run may and may not do
to an output directory, resuming, and what -o may change on a trained checkpoint."""
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from ernie_res import api
from ernie_res.config import ConfigError
from ernie_res.engine.checkpoint import CheckpointError
from ernie_res.engine.run_dir import RunDirError, RunLock
from ernie_res.models.backbone import BackboneLoadError

ROOT = Path(__file__).resolve().parents[1]


def config(out, tiny, *extra):
    return api.load_config(ROOT / "configs/doc/20ng_tiny.yaml", [
        f"Global.output_dir={out}", f"Model.backbone={tiny}", "Train.max_steps=2",
        "Train.eval_steps=2", "Data.max_seq_len=32", "Data.head_tokens=8",
        "Data.max_examples=40", *extra])


@pytest.fixture(scope="module")
def run(tiny_ernie, tmp_path_factory):
    out = tmp_path_factory.mktemp("api_doc")
    api.train(config(out, tiny_ernie))
    return out


def test_a_second_run_into_the_same_directory_is_refused(run, tiny_ernie):
    before = (run / "best" / "model.safetensors").read_bytes()
    with pytest.raises(RunDirError, match="already holds a run"):
        api.train(config(run, tiny_ernie))
    assert (run / "best" / "model.safetensors").read_bytes() == before


def test_overwrite_output_dir_replaces_the_earlier_run(run, tiny_ernie, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(run, out)
    (out / "vdl" / "stale").write_text("x")
    state = api.train(config(out, tiny_ernie, "Global.overwrite_output_dir=true",
                             "Global.seed=7"))
    assert state["step"] == 2 and not (out / "vdl" / "stale").exists()
    assert yaml.safe_load((out / "best" / "config.yaml").read_text())["Global"]["seed"] == 7


def test_a_concurrent_run_fails_at_once(run, tiny_ernie, tmp_path):
    out = tmp_path / "busy"
    with RunLock(out):
        with pytest.raises(RunDirError, match="is in use by another run"):
            api.train(config(out, tiny_ernie))
    assert not (out / "config.yaml").exists()


def test_a_failed_run_does_not_rewrite_config_yaml(run, tiny_ernie, tmp_path):
    out = tmp_path / "f"
    out.mkdir()
    (out / "config.yaml").write_text("# the earlier run's\n")
    with pytest.raises(BackboneLoadError):
        api.train(config(out, tmp_path / "no_backbone"))
    with pytest.raises(ConfigError, match="max_position_embeddings"):
        api.train(config(out, tiny_ernie, "Data.max_seq_len=4096"))
    assert (out / "config.yaml").read_text() == "# the earlier run's\n"


def test_resume_needs_the_same_model_and_data(run, tiny_ernie, tmp_path):
    out = tmp_path / "r"
    shutil.copytree(run, out)
    with pytest.raises(CheckpointError, match=r"cannot resume .*latest with a different model "
                                              r"or data: Model.num_res_blocks: 1 in the "
                                              r"checkpoint, 2 now; Data.dev_ratio: 0.15 in "
                                              r"the checkpoint, 0.2 now"):
        api.train(config(out, tiny_ernie, "Model.num_res_blocks=2", "Data.dev_ratio=0.2"),
                  resume=out / "latest")
    state = api.train(config(out, tiny_ernie, "Train.max_steps=4"), resume=out / "latest")
    assert state["step"] == 4                                  # Train keys may change


def test_resume_after_a_kill_between_the_two_renames(run, tiny_ernie, tmp_path):
    out = tmp_path / "k"
    shutil.copytree(run, out)
    (out / "latest").rename(out / "latest.tmp")               # latest/ missing, .tmp complete
    state = api.train(config(out, tiny_ernie, "Train.max_steps=4"), resume=out / "latest")
    assert state["step"] == 4 and (out / "latest").is_dir()
    assert not (out / "latest.tmp").exists()


def test_nothing_to_resume(tiny_ernie, tmp_path):
    with pytest.raises(CheckpointError, match=r"nothing to resume: .*latest is not a complete "
                                              r"checkpoint"):
        api.train(config(tmp_path, tiny_ernie), resume=tmp_path / "latest")


@pytest.mark.parametrize("override", ["Model.num_res_blocks=2", "Model.pooling=mean",
                                      "Model.backbone=elsewhere", "Global.task=seq"])
def test_overrides_that_change_what_was_trained_are_refused(run, override):
    with pytest.raises(ConfigError, match=rf"-o {override.split('=')[0]}: a trained "
                                          rf"checkpoint's .* is fixed by its config.yaml"):
        api.load_model_dir(run / "best", [override], device="cpu")


def test_overrides_of_the_data_and_of_runtime_keys_are_allowed(run):
    config_, _, _, _ = api.load_model_dir(run / "best", ["Data.root=elsewhere",
                                                         "Train.eval_batch_size=3"],
                                          device="cpu")
    assert config_.Data.root == "elsewhere" and config_.Train.eval_batch_size == 3


def test_max_seq_len_beyond_the_positions_is_refused_at_evaluation(run):
    with pytest.raises(ConfigError, match=r"Data.max_seq_len: expected at most the backbone's "
                                          r"max_position_embeddings = 256, got 300"):
        api.evaluate(run / "best", "test", ["Data.max_seq_len=300"], device="cpu")


def test_two_threads_cannot_hold_one_output_directory(tmp_path):
    """The lock is per open file description, so it also guards one process's threads."""
    errors = []
    held = threading.Event()
    release = threading.Event()

    def first():
        with RunLock(tmp_path):
            held.set()
            release.wait(5)

    t = threading.Thread(target=first)
    t.start()
    held.wait(5)
    try:
        with RunLock(tmp_path):
            pass
    except RunDirError as err:
        errors.append(err)
    release.set()
    t.join()
    assert errors
