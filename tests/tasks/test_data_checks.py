"""What the data side refuses at load time (issue #10, sections 4 and 6).

* ``Data.root`` has no default: a config without it is refused when it is loaded, naming the
  key and what the directory must hold. Only the ``*_tiny`` configs point at the bundled
  synthetic samples (``data/sample/``).
* An empty train, dev or test split is an error naming the split and the file or directory,
  not a run that scores 0 on nothing.
"""
from pathlib import Path

import pytest
import yaml

from ernie_res.api import load_config
from ernie_res.config import ConfigError
from ernie_res.tasks import TASKS
from ernie_res.tasks.doc import DocTask
from ernie_res.tasks.gen import GenTask
from ernie_res.tasks.rel import RelTask
from ernie_res.tasks.seq import SeqTask

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))
CONTENT = {"doc": "20news-bydate-train/ and 20news-bydate-test/",
           "seq": "the CoNLL-2003 files", "rel": "the SemEval-2010 Task 8 files",
           "gen": "the one-sentence-per-line files"}


# ---------------------------------------------------------------- Data.root
@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_a_config_without_data_root_is_refused_naming_the_key(config, tiny_ernie):
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    task = raw["Global"]["task"]
    del raw["Data"]["root"]
    raw["Model"]["backbone"] = str(tiny_ernie)
    with pytest.raises(ConfigError) as err:
        load_config(raw=raw)
    msg = str(err.value)
    assert msg.startswith("Data.root: required, got nothing; expected the directory holding "
                          + CONTENT[task]), msg
    for empty in ("", "  "):
        raw["Data"]["root"] = empty
        with pytest.raises(ConfigError, match=r"^Data\.root: required, got nothing"):
            load_config(raw=raw)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_data_root_has_no_default(name):
    with pytest.raises(ConfigError, match=r"^root: required"):
        TASKS[name].DataConfig()
    assert TASKS[name].DataConfig(root="somewhere").root == "somewhere"


def test_only_the_tiny_configs_use_the_bundled_samples():
    for config in CONFIGS:
        root = yaml.safe_load(config.read_text(encoding="utf-8"))["Data"]["root"]
        assert root, config
        assert root.startswith("data/sample/") == config.stem.endswith("_tiny"), (config, root)
        if config.stem.endswith("_tiny"):
            assert (ROOT / root).is_dir(), config


# ---------------------------------------------------------------- empty splits
def cfg(config, tiny, root, *extra):
    return load_config(ROOT / config, [f"Model.backbone={tiny}", f"Data.root={root}", *extra])


def test_seq_empty_files(tiny_ernie, tokenizer, tmp_path):
    sample = (ROOT / "data/sample/conll2003/eng.train").read_text(encoding="utf-8")
    (tmp_path / "eng.train").write_text("", encoding="utf-8")
    (tmp_path / "eng.testa").write_text("\n\n", encoding="utf-8")        # blank lines only
    (tmp_path / "eng.testb").write_text("-DOCSTART- -X- -X- O\n\n", encoding="utf-8")
    task = SeqTask(cfg("configs/seq/conll03_tiny.yaml", tiny_ernie, tmp_path), tokenizer)
    for split, file, what in (("train", "eng.train", "training"), ("dev", "eng.testa", "dev"),
                              ("test", "eng.testb", "test")):
        with pytest.raises(ValueError, match=rf"^SEQ: no {what} examples in "
                                             rf"{tmp_path / file}"):
            task.load_examples(split)
    (tmp_path / "eng.train").write_text(sample, encoding="utf-8")
    assert task.load_examples("train")


def test_gen_empty_files(tiny_ernie, tokenizer, tmp_path):
    (tmp_path / "ptb.train.txt").write_text("", encoding="utf-8")
    (tmp_path / "ptb.valid.txt").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "ptb.test.txt").write_text("a sentence\n", encoding="utf-8")
    task = GenTask(cfg("configs/gen/ptb_vae_tiny.yaml", tiny_ernie, tmp_path), tokenizer)
    with pytest.raises(ValueError, match=rf"^GEN: no training examples in "
                                         rf"{tmp_path / 'ptb.train.txt'}"):
        task.load_examples("train")
    with pytest.raises(ValueError, match=rf"^GEN: no dev examples in "
                                         rf"{tmp_path / 'ptb.valid.txt'} \(2 blank lines\)"):
        task.load_examples("dev")
    assert len(task.load_examples("test")) == 1


def semeval_block(i, label, e1="a", e2="b"):
    return f'{i}\t"The <e1>{e1}</e1> and <e2>{e2}</e2>."\r\n{label}\r\nComment:\r\n\r\n'


def test_rel_empty_train_and_empty_dev_hold_out(tiny_ernie, tokenizer, tmp_path):
    (tmp_path / "TRAIN_FILE.TXT").write_text("\r\n", encoding="utf-8")
    (tmp_path / "TEST_FILE_FULL.TXT").write_text(semeval_block(9, "Other"), encoding="utf-8")
    task = RelTask(cfg("configs/rel/semeval2010_tiny.yaml", tiny_ernie, tmp_path), tokenizer)
    with pytest.raises(ValueError, match=rf"^REL: no training examples in "
                                         rf"{tmp_path / 'TRAIN_FILE.TXT'}"):
        task.load_examples("train")
    # one example per label: the stratified hold-out has nothing to hold out
    (tmp_path / "TRAIN_FILE.TXT").write_text(
        semeval_block(1, "Other") + semeval_block(2, "Cause-Effect(e1,e2)"), encoding="utf-8")
    task = RelTask(cfg("configs/rel/semeval2010_tiny.yaml", tiny_ernie, tmp_path), tokenizer)
    with pytest.raises(ValueError, match=rf"^REL: no dev examples: the stratified "
                                         rf"Data\.dev_ratio = 0\.2 hold-out of "
                                         rf"{tmp_path / 'TRAIN_FILE.TXT'} is empty"):
        task.load_examples("dev")
    assert len(task.load_examples("test")) == 1


def test_doc_empty_dev_hold_out(tiny_ernie, tokenizer, tmp_path):
    for split in ("train", "test"):
        for group in ("sci.med", "sci.space"):
            path = tmp_path / f"20news-bydate-{split}" / group / "1"
            path.parent.mkdir(parents=True)
            path.write_text("From: a@b\n\nhello\n", encoding="utf-8")
    task = DocTask(cfg("configs/doc/20ng_tiny.yaml", tiny_ernie, tmp_path), tokenizer)
    with pytest.raises(ValueError, match=rf"^DOC: no dev examples: the stratified "
                                         rf"Data\.dev_ratio = 0\.15 hold-out of "
                                         rf"{tmp_path / '20news-bydate-train'} is empty"):
        task.load_examples("dev")
    assert len(task.load_examples("test")) == 2


def test_doc_logs_the_hidden_files_it_skipped(tiny_ernie, tokenizer, tmp_path, logger):
    for group in ("sci.med", "sci.space"):
        for i in (1, 2):
            path = tmp_path / "20news-bydate-train" / group / str(i)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("From: a@b\n\nhello\n", encoding="utf-8")
    (tmp_path / "20news-bydate-train" / "sci.med" / ".DS_Store").write_bytes(b"\x00Bud1")
    task = DocTask(cfg("configs/doc/20ng_tiny.yaml", tiny_ernie, tmp_path), tokenizer,
                   logger=logger)
    train = task.load_examples("train")
    assert all(e["label"] in ("sci.med", "sci.space") and ".DS_Store" not in e["id"]
               for e in train)
    assert "skipped 1 hidden entry (names starting with '.', e.g. sci.med/.DS_Store)" \
        in logger.text()
