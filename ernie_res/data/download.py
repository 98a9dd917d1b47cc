"""Fetch the public data sets our readers expect, with the standard library only, and check them.

    python tools/download_data.py {20ng,conll2003,semeval2010,ptb} --dest DIR [--timeout SEC]
                                  [--allow-unverified]

What is fetched from where, and where each pinned sha256 comes from, is in
``ernie_res/data/dataset_sources.py``.

Every file is streamed to a ``.part`` file inside a hidden staging directory in ``DIR`` while its
sha256 is computed, checked against the pinned value, renamed when complete, unpacked there when
it is an archive, checked against the expected layout, and only then moved into ``DIR``. Any
failure removes the staging directory, so ``DIR`` never holds a partial file. Network failures
(DNS, refused connection, timeout, HTTP error) raise :class:`DownloadError`, whose message names
the data set, the URL, the reason and how to place the files by hand.

A source whose ``sha256`` is ``None`` is refused by default and downloaded only with
``--allow-unverified`` (``allow_unverified=True``), with a loud warning and the sha256 of what
arrived; no bundled source needs that today.

A mismatch raises :class:`ChecksumError`, naming the URL, the expected and the actual sha256;
the downloaded file is deleted, nothing is unpacked and ``DIR`` is left as it was.

Files already in ``DIR`` (placed by hand, or by an earlier run) are used as they are. The tool
says they were not verified, except for plain files whose pinned checksum applies to exactly
those bytes (ptb), which it checks and reports as verified or as not matching.
"""
import argparse
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from ernie_res.data.dataset_sources import DATASETS, SOURCES


_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download or unpack failed; the message says what to do instead."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not have the pinned sha256; nothing was kept or unpacked."""

    def __init__(self, message, url, expected, actual):
        super().__init__(message)
        self.url, self.expected, self.actual = url, expected, actual


class UnverifiedSourceError(DownloadError):
    """A source has no pinned sha256 and ``allow_unverified`` was not given."""


def manual_instructions(name, dest):
    """How to obtain data set ``name`` by hand and where to put it."""
    spec, dest = DATASETS[name], Path(dest)
    urls = "\n".join(f"    {s.url}\n      (sha256 {s.sha256 or 'unknown: no published checksum'})"
                     for s in SOURCES[name])
    verb = "download and unpack" if spec.archive else "download"
    layout = "\n".join(f"    {dest / item}" for item in spec.layout)
    if spec.members:
        layout = "\n".join(f"    {dest / item}\n      (from {member} in the archive)"
                           for item, member in zip(spec.layout, spec.members))
    return (f"To get it manually, {verb} on a machine with internet access:\n{urls}\n"
            f"and place the files so that these exist:\n{layout}")


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


def sha256_file(path):
    """Hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url, path, timeout=10.0, progress=True, label=None, sha256=None):
    """Stream ``url`` to ``path`` through ``path.part``, showing bytes, MB/s and ETA.

    ``progress`` is ``True`` for stderr, ``None`` for silence, or a file to write to. With
    ``sha256`` (hex), the bytes are hashed as they arrive and ``path`` appears only if they match.

    Raises:
        ChecksumError: the bytes do not have ``sha256`` (``path.part`` is removed first).
        OSError, urllib.error.URLError: on any network or file-system failure (``path.part`` is
            removed first).
    """
    path, progress = Path(path), _stream(progress)
    part = path.with_name(path.name + ".part")
    label = label or path.name
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(part, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done, started, shown = 0, time.monotonic(), 0.0
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
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
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise ChecksumError(f"sha256 mismatch for {url}: expected {sha256.lower()}, "
                                f"got {digest.hexdigest()}", url, sha256.lower(),
                                digest.hexdigest())
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


def _locate(unpacked, spec):
    """``{expected entry: its path in unpacked}``, or ``(None, missing entries)``."""
    if spec.members:
        missing = _missing(unpacked, spec.members)
        found = dict(zip(spec.expected, (unpacked / m.rstrip("/") for m in spec.members)))
    else:
        base = _layout_root(unpacked, spec.expected)
        missing = _missing(unpacked, spec.expected) if base is None else []
        found = base and {item: base / item.rstrip("/") for item in spec.expected}
    return (None, missing) if missing else (found, [])


def _check_present(name, dest):
    """One line on files already in ``dest``: verified where a pinned sha256 applies to exactly
    those bytes (plain files, not unpacked from an archive), else "not verified"."""
    spec, sources = DATASETS[name], SOURCES[name]
    checkable = [] if spec.archive else [s for s in sources if s.sha256 is not None]
    if not checkable or sorted(s.target_name for s in checkable) != sorted(spec.expected):
        return (f"{name}: already present in {dest}, nothing to do; NOT verified: files already "
                f"in place (placed by hand or by an earlier run) are not checked against a "
                f"checksum")
    bad = [s.target_name for s in checkable
           if sha256_file(dest / s.target_name) != s.sha256.lower()]
    if bad:
        return (f"{name}: already present in {dest}, nothing to do; NOT verified: "
                f"{', '.join(bad)} differ from the pinned sha256 (used as they are; delete them "
                f"and run again to download checked copies)")
    return (f"{name}: already present in {dest}, nothing to do; sha256 verified "
            f"({', '.join(s.target_name for s in checkable)})")


def _loud(stream, text):
    bar = "!" * 78
    stream.write(f"{bar}\n{text}\n{bar}\n")
    stream.flush()


def download(name, dest, timeout=10.0, progress=True, allow_unverified=False):
    """Download data set ``name`` into ``dest`` so that its reader finds it there.

    Args:
        name (str): one of ``DATASETS`` (``20ng``, ``conll2003``, ``semeval2010``, ``ptb``).
        dest (str | Path): target directory (created if needed).
        timeout (float): seconds allowed for connecting and for each read.
        progress (bool | file | None): ``True`` for stderr, ``None`` for silence, or a file.
        allow_unverified (bool): download sources that have no pinned sha256
            anyway, with a loud warning (on ``progress``, or stderr when it is ``None``).

    Returns:
        Path: ``dest``.

    Raises:
        ValueError: unknown ``name`` or ``timeout <= 0``.
        UnverifiedSourceError: a source has no pinned sha256 and ``allow_unverified`` is false
            (raised before anything is downloaded).
        ChecksumError: a download does not have its pinned sha256 (``dest`` is left as it was).
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
            progress.write(_check_present(name, dest) + "\n")
        return dest
    clash = [item for item in spec.expected if (dest / item.rstrip("/")).exists()]
    if clash:
        raise DownloadError(f"{name}: {dest} already holds {', '.join(clash)} but not the whole "
                            f"data set; move those away and run again, or complete it by hand."
                            f"\n{manual_instructions(name, dest)}")
    unverified = [s.url for s in SOURCES[name] if s.sha256 is None]
    if unverified and not allow_unverified:
        urls = "\n".join(f"    {u}" for u in unverified)
        raise UnverifiedSourceError(
            f"{name}: refusing to download without a checksum: no sha256 is pinned for\n{urls}\n"
            f"because no trustworthy published checksum was found for these files, so a changed "
            f"or tampered copy would go unnoticed. Run again with --allow-unverified "
            f"(allow_unverified=True) to download them anyway, or get them by hand.\n"
            f"{manual_instructions(name, dest)}")
    warn = progress or sys.stderr
    if unverified:
        _loud(warn, f"WARNING: {name}: --allow-unverified: downloading WITHOUT checksum "
                    f"verification; nothing checks that these bytes are the real data set:\n"
                    + "\n".join(f"    {u}" for u in unverified))
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".download-{name}-", dir=dest))
    ok, got = False, []
    try:
        unpacked = staging / "files"
        unpacked.mkdir()
        for src in SOURCES[name]:
            target = (staging if spec.archive else unpacked) / src.target_name
            try:
                fetch(src.url, target, timeout=timeout, progress=progress,
                      label=f"{name} {target.name}", sha256=src.sha256)
            except ChecksumError as err:
                raise ChecksumError(
                    f"{name}: checksum mismatch, the download is not the pinned file\n"
                    f"  URL: {src.url}\n  expected sha256: {err.expected}\n"
                    f"  actual sha256:   {err.actual}\n"
                    f"The downloaded file was deleted; nothing was unpacked or placed in {dest}. "
                    f"The copy at that URL may have changed or the transfer been tampered with.\n"
                    f"{manual_instructions(name, dest)}", src.url, err.expected,
                    err.actual) from None
            except (urllib.error.URLError, OSError, ValueError) as err:
                raise DownloadError(
                    f"could not download dataset {name!r}: {spec.description}\n"
                    f"  URL: {src.url}\n  reason: {_describe(err)}\n"
                    f"{manual_instructions(name, dest)}") from err
            if src.sha256 is None:
                got.append(f"    {target.name}  sha256 {sha256_file(target)}")
            if spec.archive:
                try:
                    _unpack(target, unpacked)
                except (tarfile.TarError, zipfile.BadZipFile, OSError) as err:
                    raise DownloadError(f"{name}: could not unpack {src.url}: {err}\n"
                                        f"{manual_instructions(name, dest)}") from err
                target.unlink()
        found, missing = _locate(unpacked, spec)
        if found is None:
            raise DownloadError(f"{name}: the downloaded files lack {', '.join(missing)}; the "
                                f"source may have changed.\n{manual_instructions(name, dest)}")
        for item, path in found.items():
            os.replace(path, dest / item.rstrip("/"))
        ok = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not ok and not any(dest.iterdir()):
            dest.rmdir()
    if got:
        _loud(warn, f"WARNING: {name}: NOT verified (no pinned checksum); compare these with a "
                    f"copy you trust:\n" + "\n".join(got))
    if progress is not None:
        state = "NOT verified" if got else "sha256 verified"
        progress.write(f"{name}: ready in {dest} ({', '.join(spec.expected)}); {state}\n")
    return dest


def main(argv=None):
    """Command line entry point; returns the process exit code."""
    p = argparse.ArgumentParser(
        prog="download_data.py",
        description="Download a public data set into the layout ernie_res readers expect, "
                    "checking each file against its pinned sha256.")
    p.add_argument("dataset", choices=sorted(DATASETS), help="which data set")
    p.add_argument("--dest", required=True, help="target directory (created if needed)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds allowed for connecting and for each read (default 10)")
    p.add_argument("--allow-unverified", action="store_true",
                   help="also download files that have no pinned sha256, with a "
                        "warning; without it such data sets are refused")
    a = p.parse_args(argv)
    try:
        download(a.dataset, a.dest, timeout=a.timeout, allow_unverified=a.allow_unverified)
    except (DownloadError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; no partial files were left behind", file=sys.stderr)
        return 130
    return 0
