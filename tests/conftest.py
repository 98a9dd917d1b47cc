"""Shared fixtures: a private PPNLP_HOME and a tiny ERNIE built once per session."""
import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MKL_DEBUG_CPU_TYPE", "5")
# PaddleNLP leaves empty files under PPNLP_HOME when a download fails: keep them out of ~.
os.environ["PPNLP_HOME"] = os.environ.get("ERNIE_RES_TEST_PPNLP_HOME") or tempfile.mkdtemp(
    prefix="ppnlp_home_")

SAMPLE_20NG = ROOT / "data" / "sample" / "20news-bydate"
#: the bundled samples (data/sample/ also holds their generators, which are not text data)
SAMPLE_DATASETS = ("20news-bydate", "conll2003", "ptb", "semeval2010")


@pytest.fixture(scope="session")
def tiny_ernie(tmp_path_factory):
    """A tiny ERNIE checkpoint directory whose vocabulary comes from the bundled samples."""
    from ernie_res.models.tiny_ernie import make_tiny_ernie

    out = tmp_path_factory.mktemp("tiny_ernie")
    return make_tiny_ernie(out, [ROOT / "data" / "sample" / d for d in SAMPLE_DATASETS],
                           hidden_size=32, num_layers=2,
                           num_heads=2, intermediate_size=64, max_position=256, max_words=2000)


@pytest.fixture(scope="session")
def tool():
    """``tool("eval")`` imports ``tools/eval.py`` as a module, to call its ``main(argv)``."""
    import importlib.util

    sys.path.insert(0, str(ROOT / "tools"))
    cache = {}

    def load(name):
        if name not in cache:
            spec = importlib.util.spec_from_file_location(f"tool_{name}",
                                                          ROOT / "tools" / f"{name}.py")
            cache[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(cache[name])
        return cache[name]
    return load


class _RunsCode:
    """Unpickling this runs ``os.system(command)``: what a planted checkpoint would carry."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.fixture
def payload(tmp_path):
    """``(obj, marker)``: unpickling ``obj`` creates the file ``marker``, so a loader that is
    safe leaves ``marker`` absent."""
    marker = tmp_path / "payload_ran"
    return _RunsCode(f"touch {marker}"), marker


#: a few training steps on each bundled sample: enough for a model directory to predict with
TINY_RUNS = {
    "doc": ("configs/doc/20ng_tiny.yaml", ["Data.max_seq_len=32", "Data.head_tokens=8",
                                           "Data.max_examples=40"]),
    "seq": ("configs/seq/conll03_tiny.yaml", ["Data.max_examples=40"]),
    "rel": ("configs/rel/semeval2010_tiny.yaml", ["Data.max_examples=40"]),
    "gen": ("configs/gen/ptb_vae_tiny.yaml", ["Data.max_examples=40"]),
}


@pytest.fixture(scope="session")
def trained(tiny_ernie, tmp_path_factory):
    """``trained("doc")``: the ``best/`` directory of a 2-step tiny run of a task (cached)."""
    cache = {}

    def train(task):
        if task not in cache:
            from ernie_res import api

            config, extra = TINY_RUNS[task]
            out = tmp_path_factory.mktemp(f"trained_{task}")
            api.train(api.load_config(ROOT / config, [
                f"Global.output_dir={out}", f"Model.backbone={tiny_ernie}",
                "Train.max_steps=2", "Train.eval_steps=2", *extra]))
            cache[task] = out / "best"
        return cache[task]
    return train
