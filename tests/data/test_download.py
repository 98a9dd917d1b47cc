"""Download tool: offline failures are fast, clean and explained; local archives unpack."""
import functools
import http.server
import io
import re
import socket
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from ernie_res.data import download as dl
from ernie_res.data.newsgroups import read_20ng

REPO = Path(__file__).resolve().parents[2]


def make_tar(path, members):
    """``members``: {archive name: bytes}; writes a .tar.gz at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


NG_MEMBERS = {"20news-bydate-train/alt.atheism/51060": b"From: a\n\ncaf\xe9\n",
              "20news-bydate-train/sci.crypt/15": b"From: b\n\nkey\n",
              "20news-bydate-test/alt.atheism/53068": b"From: c\n\n\xfcber\n"}


def leftovers(dest):
    return sorted(p.name for p in Path(dest).rglob("*")
                  if p.name.startswith(".download-") or p.name.endswith(".part"))


# ---------------------------------------------------------------- offline failures
@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:9/x.tar.gz", "ConnectionRefusedError"),
    ("http://nonexistent.invalid/x", "gaierror"),
])
def test_unreachable_fails_fast_and_clean(tmp_path, monkeypatch, url, reason):
    monkeypatch.setitem(dl.URLS, "20ng", (url,))
    dest = tmp_path / "new" / "dir"
    start = time.monotonic()
    with pytest.raises(dl.DownloadError) as err:
        dl.download("20ng", dest, progress=None)
    assert time.monotonic() - start < 15
    msg = str(err.value)
    assert msg.startswith("could not download dataset '20ng': 20 Newsgroups")
    assert f"  URL: {url}\n  reason: {reason}" in msg
    assert "To get it manually, download and unpack on a machine with internet access:" in msg
    assert f"{dest / '20news-bydate-train'}/<group>/<file id>" in msg
    assert f"{dest / '20news-bydate-test'}/<group>/<file id>" in msg
    assert not dest.exists()                       # the directory we created is gone again
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(dl.DownloadError):
        dl.download("20ng", existing, progress=None)
    assert list(existing.iterdir()) == []


def test_timeout_when_server_never_answers(tmp_path, monkeypatch):
    with socket.socket() as srv:                   # accepts connections, never answers
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        monkeypatch.setitem(dl.URLS, "ptb", (f"http://127.0.0.1:{srv.getsockname()[1]}/a.txt",))
        start = time.monotonic()
        with pytest.raises(dl.DownloadError, match=r"reason: (TimeoutError|timeout): timed out"):
            dl.download("ptb", tmp_path, timeout=0.5, progress=None)
        assert time.monotonic() - start < 5
    assert list(tmp_path.iterdir()) == []


def test_cli_offline_message_without_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(dl.URLS, "ptb", ("http://nonexistent.invalid/ptb.train.txt",))
    assert dl.main(["ptb", "--dest", str(tmp_path), "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: could not download dataset 'ptb': Penn Treebank")
    assert f"{tmp_path / 'ptb.valid.txt'}" in err and "Traceback" not in err


def test_cli_unknown_dataset_lists_choices():
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "download_data.py"), "imdb",
                           "--dest", "x"], capture_output=True, text=True, cwd="/", timeout=60)
    assert proc.returncode == 2
    assert "invalid choice: 'imdb' (choose from '20ng', 'conll2003', 'ptb', 'semeval2010')" \
        in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"^dataset: expected one of \['20ng', 'conll2003', "
                                         r"'ptb', 'semeval2010'\], got 'imdb'$"):
        dl.download("imdb", "x")
    with pytest.raises(ValueError, match=r"^timeout: expected a positive number of seconds, "
                                         r"got 0$"):
        dl.download("ptb", "x", timeout=0)


# ---------------------------------------------------------------- success paths, offline
def test_local_tar_unpacks_into_reader_layout(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "src" / "20news-bydate.tar.gz", NG_MEMBERS)
    monkeypatch.setitem(dl.URLS, "20ng", (archive.as_uri(),))
    dest = tmp_path / "data"
    log = io.StringIO()
    assert dl.download("20ng", dest, progress=log) == dest
    assert sorted(p.name for p in dest.iterdir()) == ["20news-bydate-test", "20news-bydate-train"]
    assert leftovers(dest) == []
    assert [e["id"] for e in read_20ng(dest, "train")] == ["alt.atheism/51060", "sci.crypt/15"]
    assert read_20ng(dest, "test")[0]["text"] == "über\n"
    out = log.getvalue()
    assert re.search(r"20ng 20news-bydate\.tar\.gz: \d+\.\d/\d+\.\d MB \(100%\)  "
                     r"\d+\.\d\d MB/s  ETA 0s\n", out), out
    assert out.endswith(f"20ng: ready in {dest} (20news-bydate-train/, 20news-bydate-test/)\n")
    log = io.StringIO()
    dl.download("20ng", dest, progress=log)        # second call: nothing to do
    assert log.getvalue() == f"20ng: already present in {dest}, nothing to do\n"


def test_archive_with_one_wrapping_folder(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "x.tgz", {f"top/{k}": v for k, v in NG_MEMBERS.items()})
    monkeypatch.setitem(dl.URLS, "20ng", (archive.as_uri(),))
    dl.download("20ng", tmp_path / "d", progress=None)
    assert len(read_20ng(tmp_path / "d", "train")) == 2


def test_archive_missing_split_leaves_nothing(tmp_path, monkeypatch):
    members = {k: v for k, v in NG_MEMBERS.items() if "train" in k}
    monkeypatch.setitem(dl.URLS, "20ng", (make_tar(tmp_path / "x.tar.gz", members).as_uri(),))
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(dl.DownloadError, match=r"^20ng: the downloaded files lack "
                                               r"20news-bydate-test/; the source may have"):
        dl.download("20ng", dest, progress=None)
    assert list(dest.iterdir()) == []


def test_archive_escaping_member_is_refused(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "src" / "x.tar.gz", {"../evil.txt": b"x", **NG_MEMBERS})
    monkeypatch.setitem(dl.URLS, "20ng", (archive.as_uri(),))
    dest = tmp_path / "d"
    with pytest.raises(dl.DownloadError, match=r"^20ng: could not unpack file://"):
        dl.download("20ng", dest, progress=None)
    assert not (tmp_path / "evil.txt").exists() and not dest.exists()


def test_zip_archive_through_the_cli(tmp_path, monkeypatch, capsys):
    archive = tmp_path / "src" / "20news-bydate.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in NG_MEMBERS.items():
            zf.writestr(name, data)
    monkeypatch.setitem(dl.URLS, "20ng", (archive.as_uri(),))
    assert dl.main(["20ng", "--dest", str(tmp_path / "d")]) == 0
    assert "MB/s  ETA" in capsys.readouterr().err          # progress goes to stderr
    assert len(read_20ng(tmp_path / "d", "test")) == 1
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("../evil.txt", b"x")
    with pytest.raises(dl.DownloadError, match=r"could not unpack .*: member '../evil.txt' "
                                               r"would land outside"):
        dl.download("20ng", tmp_path / "e", progress=None)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "e").exists()


def test_download_that_is_not_an_archive(tmp_path, monkeypatch):
    page = tmp_path / "src" / "20news-bydate.tar.gz"
    page.parent.mkdir()
    page.write_bytes(b"<html>captive portal</html>")
    monkeypatch.setitem(dl.URLS, "20ng", (page.as_uri(),))
    with pytest.raises(dl.DownloadError, match=r"^20ng: could not unpack file://\S+: not a "
                                               r"tar or zip archive \(it starts with "
                                               r"b'<html>captive portal</html>'\)\n"
                                               r"To get it manually"):
        dl.download("20ng", tmp_path / "d", progress=None)
    assert not (tmp_path / "d").exists()


def test_plain_files_and_all_or_nothing(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    for split in ("train", "valid", "test"):
        (src / f"ptb.{split}.txt").write_text(f" the {split} words \n", encoding="utf-8")
    urls = tuple((src / f"ptb.{s}.txt").as_uri() for s in ("train", "valid", "test"))
    # the last file is missing: the first two must not stay behind
    monkeypatch.setitem(dl.URLS, "ptb", urls[:2] + ((src / "gone.txt").as_uri(),))
    with pytest.raises(dl.DownloadError, match="reason: URLError|reason: .*No such file"):
        dl.download("ptb", tmp_path / "d", progress=None)
    assert not (tmp_path / "d").exists()
    monkeypatch.setitem(dl.URLS, "ptb", urls)
    dl.download("ptb", tmp_path / "d", progress=None)
    for split in ("train", "valid", "test"):
        assert (tmp_path / "d" / f"ptb.{split}.txt").read_text() == f" the {split} words \n"
    assert leftovers(tmp_path / "d") == []


def test_partial_existing_data_is_not_overwritten(tmp_path, monkeypatch):
    (tmp_path / "eng.train").write_text("mine\n")
    monkeypatch.setitem(dl.URLS, "conll2003", ("http://127.0.0.1:9/eng.train",))
    with pytest.raises(dl.DownloadError, match=rf"^conll2003: {tmp_path} already holds "
                                               r"eng.train but not the whole data set"):
        dl.download("conll2003", tmp_path, progress=None)
    assert (tmp_path / "eng.train").read_text() == "mine\n"


@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server over ``tmp_path/www``; yields its base URL."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_success_and_404(http_dir, tmp_path, monkeypatch):
    www, base = http_dir
    for name in ("TRAIN_FILE.TXT", "TEST_FILE_FULL.TXT"):
        (www / name).write_bytes(b'1\t"The <e1>a</e1> b <e2>c</e2>."\nOther\nComment:\n\n')
    monkeypatch.setitem(dl.URLS, "semeval2010", (f"{base}/TRAIN_FILE.TXT", f"{base}/nope.TXT"))
    with pytest.raises(dl.DownloadError, match=r"reason: HTTP 404: File not found"):
        dl.download("semeval2010", tmp_path / "d", progress=None)
    assert not (tmp_path / "d").exists()
    monkeypatch.setitem(dl.URLS, "semeval2010",
                        (f"{base}/TRAIN_FILE.TXT", f"{base}/TEST_FILE_FULL.TXT"))
    dl.download("semeval2010", tmp_path / "d", progress=None)
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["TEST_FILE_FULL.TXT",
                                                                 "TRAIN_FILE.TXT"]


def test_url_table_covers_every_dataset():
    assert set(dl.URLS) == set(dl.DATASETS) == {"20ng", "conll2003", "semeval2010", "ptb"}
    assert dl.URLS["20ng"] == ("http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz",)
    for name, spec in dl.DATASETS.items():
        if name != "20ng":   # plain files: each URL's basename is one expected file
            assert sorted(u.rsplit("/", 1)[1] for u in dl.URLS[name]) == sorted(spec.expected)
