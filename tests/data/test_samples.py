"""The bundled samples are reproducible: each generator in data/sample/ rewrites its files exactly.

Each generator runs as its usage line says (``python data/sample/make_<name>.py --out DIR``),
into a temporary directory, and what it writes must equal the committed files: the same file
list and the same bytes, README files included.
"""
import importlib.util
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
# generator: (its --out, relative to the output root; what it writes there, relative to
# data/sample). make_20ng and make_semeval2010 take the sample root, the others the data set's
# own directory.
GENERATORS = {
    "make_20ng": (".", ("20news-bydate", "README.md")),
    "make_conll2003": ("conll2003", ("conll2003",)),
    "make_semeval2010": (".", ("semeval2010",)),
    "make_ptb": ("ptb", ("ptb",)),
}


def run(generator, out, cwd):
    """Run ``python data/sample/<generator>.py --out OUT`` in a fresh interpreter."""
    script = SAMPLE / f"{generator}.py"
    proc = subprocess.run([sys.executable, str(script), "--out", str(out)], cwd=cwd,
                          capture_output=True, text=True)
    assert proc.returncode == 0, (f"{script.relative_to(REPO)} --out {out} exited with "
                                  f"{proc.returncode}:\n{proc.stdout}{proc.stderr}")


def load(generator, monkeypatch):
    """Import ``data/sample/<generator>.py`` without leaving a ``__pycache__`` in data/sample."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    spec = importlib.util.spec_from_file_location(f"sample_{generator}",
                                                  SAMPLE / f"{generator}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def files_under(path):
    """``{path relative to path: bytes}`` of every file below ``path`` (or of ``path`` itself)."""
    path = Path(path)
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def first_difference(a, b):
    """Describe where the byte strings ``a`` and ``b`` first differ."""
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (f"{len(a)} vs {len(b)} bytes, first difference at byte {at}: "
            f"{a[at:at + 20]!r} vs {b[at:at + 20]!r}")


def assert_same_files(fresh, bundled):
    """Assert that ``fresh`` holds exactly the files of ``bundled``, byte for byte."""
    assert Path(bundled).exists(), f"{bundled} is missing"
    new, old = files_under(fresh), files_under(bundled)
    assert old, f"{bundled} holds no files"
    missing, extra = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
    assert not missing, (f"{len(missing)} of the {len(old)} file(s) under {bundled} were not "
                         f"regenerated under {fresh}, e.g. {missing[:3]}")
    assert not extra, (f"the generator wrote {len(extra)} file(s) under {fresh} that {bundled} "
                       f"does not have, e.g. {extra[:3]}")
    differ = [name for name in old if new[name] != old[name]]
    assert not differ, (f"{len(differ)} of the {len(old)} regenerated file(s) differ from "
                        f"those under {bundled}, e.g. {differ[:3]}; {differ[0]}, regenerated "
                        f"vs bundled: {first_difference(new[differ[0]], old[differ[0]])}")


@pytest.mark.parametrize("generator", sorted(GENERATORS))
def test_generator_reproduces_its_bundled_sample(generator, tmp_path):
    out, written = GENERATORS[generator]
    root = tmp_path / "sample"
    root.mkdir()
    run(generator, (root / out).resolve(), cwd=tmp_path)
    assert sorted(p.name for p in root.iterdir()) == sorted(written), \
        f"{generator}.py wrote {sorted(p.name for p in root.iterdir())}, expected {written}"
    for name in written:
        assert_same_files(root / name, SAMPLE / name)


def test_every_bundled_sample_has_a_generator():
    owned = {name for _, written in GENERATORS.values() for name in written}
    scripts = {f"{generator}.py" for generator in GENERATORS}
    entries = {p.name for p in SAMPLE.iterdir() if p.name != "__pycache__"}
    assert sorted(entries - owned - scripts) == [], "in data/sample/ but written by no generator"
    assert sorted((owned | scripts) - entries) == [], "expected in data/sample/ but missing"


@pytest.mark.parametrize("generator", sorted(GENERATORS))
def test_generator_defaults_to_this_repository(generator, monkeypatch):
    # every default --out is built from ROOT, so this checks them without writing into the repo
    assert load(generator, monkeypatch).ROOT == REPO


def test_20ng_sample_is_small():
    size = sum(len(b) for b in files_under(SAMPLE / "20news-bydate").values())
    assert size < 1_000_000, f"data/sample/20news-bydate/ holds {size} bytes"


def test_20ng_readme_section_is_replaced_in_place(tmp_path, monkeypatch):
    mod = load("make_20ng", monkeypatch)
    counts = {split: {group: n[col] for group, n in mod.COUNTS.items()}
              for col, split in enumerate(("train", "test"))}
    (tmp_path / "README.md").write_text("# X\n\nother\n", encoding="utf-8")
    mod.write_readme(tmp_path, counts)
    mod.write_readme(tmp_path, counts)
    text = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# X\n\nother\n\n<!-- 20ng:begin")
    assert Counter(text.split("\n"))["<!-- 20ng:end -->"] == 1
    bundled = (SAMPLE / "README.md").read_text(encoding="utf-8")
    section = bundled[bundled.index("<!-- 20ng:begin"):]
    assert text == "# X\n\nother\n\n" + section, "the 20NG section differs from data/sample's"


def test_a_changed_missing_or_extra_file_fails_the_comparison(tmp_path):
    copy = tmp_path / "ptb"
    shutil.copytree(SAMPLE / "ptb", copy)
    assert_same_files(copy, SAMPLE / "ptb")
    size = (copy / "ptb.valid.txt").stat().st_size
    with (copy / "ptb.valid.txt").open("ab") as f:
        f.write(b"x")
    with pytest.raises(AssertionError, match=rf"differ .*'ptb\.valid\.txt'.*at byte {size}:"):
        assert_same_files(copy, SAMPLE / "ptb")
    (copy / "ptb.valid.txt").unlink()
    with pytest.raises(AssertionError, match=r"not regenerated .*'ptb\.valid\.txt'"):
        assert_same_files(copy, SAMPLE / "ptb")
    shutil.copy(SAMPLE / "ptb" / "ptb.valid.txt", copy / "ptb.extra.txt")
    with pytest.raises(AssertionError, match=r"not regenerated"):
        assert_same_files(copy, SAMPLE / "ptb")
    shutil.copy(SAMPLE / "ptb" / "ptb.valid.txt", copy)
    with pytest.raises(AssertionError, match=r"does not have, .*'ptb\.extra\.txt'"):
        assert_same_files(copy, SAMPLE / "ptb")
