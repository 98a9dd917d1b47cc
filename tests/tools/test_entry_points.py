"""What every tool shares (tools/_bootstrap.py) and the streams they write.

* Standard output carries results only: ``tools/infer.py ... > pred.jsonl`` is pure JSON lines
  even when the run logs INFO lines, warnings and skipped inputs.
* Thread counts are the user's: ``OMP_NUM_THREADS=8`` gives Paddle 8 threads, without Paddle's
  "OMP_NUM_THREADS set to 8, not 1" banner, and nothing is set when the variable is unset.
* Only named warnings are silenced.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ernie_res import api

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def _env(**changes):
    env = dict(os.environ)
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


@pytest.fixture(scope="module")
def doc_model(tiny_ernie, tmp_path_factory):
    out = tmp_path_factory.mktemp("entry_doc")
    api.train(api.load_config(ROOT / "configs/doc/20ng_tiny.yaml", [
        f"Global.output_dir={out}", f"Model.backbone={tiny_ernie}", "Train.max_steps=2",
        "Train.eval_steps=2", "Data.max_seq_len=32", "Data.head_tokens=8",
        "Data.max_examples=40"]))
    return out / "best"


@pytest.mark.slow
@pytest.mark.ci
def test_infer_stdout_is_pure_jsonl_while_logging(doc_model, tmp_path):
    inp = tmp_path / "in.jsonl"
    long_doc = " ".join(["the goalie stopped the puck in overtime"] * 60)  # gets truncated
    inp.write_text(json.dumps({"text": long_doc}) + "\n" + "{not json\n"
                   + json.dumps({"text": "shuttle orbit launch"}) + "\n", encoding="utf-8")
    r = subprocess.run([PY, "tools/infer.py", "--model_dir", str(doc_model), "--input",
                        str(inp)], cwd=ROOT, capture_output=True, text=True,
                       env=_env(PYTHONWARNINGS="always"))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]   # every line is JSON
    assert [("error" in row) for row in rows] == [False, True, False]
    assert "were shortened" in r.stderr            # an INFO line, on stderr
    assert "skipped:" in r.stderr and "2 predictions written to stdout" in r.stderr
    assert "WARNING: OMP_NUM_THREADS" not in r.stderr


def _paddle_threads(env):
    code = ("import sys; sys.path.insert(0, 'tools'); import _bootstrap; "
            "_bootstrap.import_paddle(); import os, json; "
            "from threadpoolctl import threadpool_info; "
            "print(json.dumps([os.environ.get('OMP_NUM_THREADS'), "
            "[i['num_threads'] for i in threadpool_info() "
            "if i['filepath'].endswith('libiomp5.so')]]))")
    r = subprocess.run([PY, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1]), r.stderr


def test_the_users_thread_count_is_kept_and_the_banner_dropped():
    (env_value, counts), err = _paddle_threads(_env(OMP_NUM_THREADS="8"))
    assert env_value == "8" and counts == [8]
    assert "OMP_NUM_THREADS set to" not in err and "WISELY" not in err


def test_nothing_is_set_when_the_variable_is_unset():
    (_, counts), _ = _paddle_threads(_env(OMP_NUM_THREADS=None))
    assert counts == [1]                               # Paddle's own default


def test_the_banner_filter_passes_other_import_output_through(monkeypatch, capsys):
    sys.path.insert(0, str(ROOT / "tools"))
    import _bootstrap

    class FakePaddle:
        pass

    def fake_import(name, *args, **kwargs):
        if name == "paddle":
            print("WARNING: OMP_NUM_THREADS set to 4, not 1. The computation ...",
                  file=sys.stderr)
            print("PLEASE USE OMP_NUM_THREADS WISELY.", file=sys.stderr)
            print("something else Paddle said", file=sys.stderr)
            return FakePaddle
        return real_import(name, *args, **kwargs)

    real_import = __builtins__["__import__"] if isinstance(__builtins__, dict) \
        else __builtins__.__import__
    monkeypatch.delitem(sys.modules, "paddle")
    monkeypatch.setattr("builtins.__import__", fake_import)
    assert _bootstrap.import_paddle() is FakePaddle
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert err == "something else Paddle said\n"


def test_only_named_warnings_are_silenced():
    code = ("import sys, warnings; sys.path.insert(0, 'tools'); import _bootstrap; "
            "warnings.warn('No ccache found. Please be aware', UserWarning); "
            "warnings.warn('Setuptools is replacing distutils.', UserWarning); "
            "warnings.warn('Skip loading for classifier.weight. shape mismatch', UserWarning); "
            "warnings.warn('some deprecation', DeprecationWarning)")
    r = subprocess.run([PY, "-W", "default", "-c", code], cwd=ROOT, capture_output=True,
                       text=True, env=_env())
    assert "No ccache" not in r.stderr and "Setuptools is replacing" not in r.stderr
    assert "Skip loading for classifier.weight" in r.stderr
    assert "some deprecation" in r.stderr
