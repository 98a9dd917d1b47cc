"""Output directories (engine/run_dir.py): no silent replacement of an earlier run, and one
writer at a time."""
import subprocess
import sys
import time

import pytest

from ernie_res.engine.run_dir import RunDirError, RunLock, claim, earlier_checkpoints


def earlier_run(out):
    for name in ("best", "latest", "vdl"):
        (out / name).mkdir(parents=True)
        (out / name / "f").write_text("x")
    (out / "trainer_state.json").write_text("{}")
    (out / "config.yaml").write_text("Global: {}\n")
    (out / "notes.txt").write_text("mine")


def test_a_new_run_over_an_earlier_one_is_refused(tmp_path):
    earlier_run(tmp_path)
    with pytest.raises(RunDirError, match=rf"^{tmp_path} already holds a run \(best/, latest/\); "
                                          rf"continue it with --resume, pick another "
                                          rf"Global.output_dir, or set "
                                          rf"Global.overwrite_output_dir=true to replace it$"):
        claim(tmp_path, resume=False, overwrite=False)
    assert (tmp_path / "best" / "f").exists()
    claim(tmp_path, resume=True, overwrite=False)         # resuming it is fine


def test_a_left_over_tmp_counts_as_an_earlier_run(tmp_path):
    (tmp_path / "latest.tmp").mkdir()
    assert earlier_checkpoints(tmp_path) == ["latest"]
    assert earlier_checkpoints(tmp_path / "absent") == []


def test_overwriting_removes_the_earlier_run_and_says_so(tmp_path, caplog):
    import logging

    earlier_run(tmp_path)
    logger = logging.getLogger("test_run_dir")
    with caplog.at_level(logging.WARNING, logger="test_run_dir"):
        claim(tmp_path, resume=False, overwrite=True, logger=logger)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "notes.txt"]
    assert "removed the earlier run's best, latest, vdl, trainer_state.json" in caplog.text


def test_a_fresh_directory_needs_nothing(tmp_path):
    claim(tmp_path / "new", resume=False, overwrite=False)


def test_a_second_writer_fails_at_once_naming_the_first(tmp_path):
    with RunLock(tmp_path):
        t0 = time.time()
        with pytest.raises(RunDirError, match=rf"^{tmp_path} is in use by another run \(pid "
                                              rf"\d+, started .*\); wait for it to finish"):
            with RunLock(tmp_path):
                pass
        assert time.time() - t0 < 1
    with RunLock(tmp_path):                  # released: the next run gets it
        pass


def test_the_lock_dies_with_its_process(tmp_path):
    code = ("import sys, time; sys.path.insert(0, %r); "
            "from ernie_res.engine.run_dir import RunLock; "
            "l = RunLock(%r).__enter__(); print('locked', flush=True); time.sleep(60)"
            % (str(__import__("pathlib").Path(__file__).resolve().parents[2]), str(tmp_path)))
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirError, match=f"pid {holder.pid}"):
            RunLock(tmp_path).__enter__()
    finally:
        holder.kill()                        # as kill -9 would
        holder.wait()
    with RunLock(tmp_path):
        pass
