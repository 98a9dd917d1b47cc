"""Download tool: offline failures are fast, clean and explained; local archives unpack;
every download is checked against its pinned sha256 (all offline: file:// URLs and a local
HTTP server)."""
import functools
import hashlib
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
from ernie_res.data.dataset_sources import Dataset, Source
from ernie_res.data.newsgroups import read_20ng
from ernie_res.data.semeval import read_semeval

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


NO_SHA = "0" * 64          # for URLs that never answer: the checksum is never reached


def sha(data):
    return hashlib.sha256(data).hexdigest()


def pinned(*paths):
    """Sources for local files, each pinned to its true sha256."""
    return tuple(Source(p.as_uri(), sha(p.read_bytes())) for p in paths)


def leftovers(dest):
    return sorted(p.name for p in Path(dest).rglob("*")
                  if p.name.startswith(".download-") or p.name.endswith(".part"))


# ---------------------------------------------------------------- offline failures
@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:9/x.tar.gz", "ConnectionRefusedError"),
    ("http://nonexistent.invalid/x", "gaierror"),
])
def test_unreachable_fails_fast_and_clean(tmp_path, monkeypatch, url, reason):
    monkeypatch.setitem(dl.SOURCES, "20ng", (Source(url, NO_SHA),))
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
        url = f"http://127.0.0.1:{srv.getsockname()[1]}/a.txt"
        monkeypatch.setitem(dl.SOURCES, "ptb", (Source(url, NO_SHA),))
        start = time.monotonic()
        with pytest.raises(dl.DownloadError, match=r"reason: (TimeoutError|timeout): timed out"):
            dl.download("ptb", tmp_path, timeout=0.5, progress=None)
        assert time.monotonic() - start < 5
    assert list(tmp_path.iterdir()) == []


def test_cli_offline_message_without_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(dl.SOURCES, "ptb",
                        (Source("http://nonexistent.invalid/ptb.train.txt", NO_SHA),))
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
    monkeypatch.setitem(dl.SOURCES, "20ng", pinned(archive))
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
    assert out.endswith(f"20ng: ready in {dest} (20news-bydate-train/, 20news-bydate-test/); "
                        f"sha256 verified\n")
    assert "WARNING" not in out


def test_archive_with_one_wrapping_folder(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "x.tgz", {f"top/{k}": v for k, v in NG_MEMBERS.items()})
    monkeypatch.setitem(dl.SOURCES, "20ng", pinned(archive))
    dl.download("20ng", tmp_path / "d", progress=None)
    assert len(read_20ng(tmp_path / "d", "train")) == 2


def test_archive_missing_split_leaves_nothing(tmp_path, monkeypatch):
    members = {k: v for k, v in NG_MEMBERS.items() if "train" in k}
    monkeypatch.setitem(dl.SOURCES, "20ng", pinned(make_tar(tmp_path / "x.tar.gz", members)))
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(dl.DownloadError, match=r"^20ng: the downloaded files lack "
                                               r"20news-bydate-test/; the source may have"):
        dl.download("20ng", dest, progress=None)
    assert list(dest.iterdir()) == []


def test_archive_escaping_member_is_refused(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "src" / "x.tar.gz", {"../evil.txt": b"x", **NG_MEMBERS})
    monkeypatch.setitem(dl.SOURCES, "20ng", pinned(archive))
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
    monkeypatch.setitem(dl.SOURCES, "20ng", pinned(archive))
    assert dl.main(["20ng", "--dest", str(tmp_path / "d")]) == 0
    assert "MB/s  ETA" in capsys.readouterr().err          # progress goes to stderr
    assert len(read_20ng(tmp_path / "d", "test")) == 1
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("../evil.txt", b"x")
    monkeypatch.setitem(dl.SOURCES, "20ng", pinned(archive))   # pinned to the evil bytes
    with pytest.raises(dl.DownloadError, match=r"could not unpack .*: member '../evil.txt' "
                                               r"would land outside"):
        dl.download("20ng", tmp_path / "e", progress=None)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "e").exists()


def test_download_that_is_not_an_archive(tmp_path, monkeypatch):
    page = tmp_path / "src" / "20news-bydate.tar.gz"
    page.parent.mkdir()
    page.write_bytes(b"<html>captive portal</html>")
    monkeypatch.setitem(dl.SOURCES, "20ng", pinned(page))   # as if the pin matched the page
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
    sources = pinned(*(src / f"ptb.{s}.txt" for s in ("train", "valid", "test")))
    # the last file is missing: the first two must not stay behind
    monkeypatch.setitem(dl.SOURCES, "ptb",
                        sources[:2] + (Source((src / "gone.txt").as_uri(), NO_SHA),))
    with pytest.raises(dl.DownloadError, match="reason: URLError|reason: .*No such file"):
        dl.download("ptb", tmp_path / "d", progress=None)
    assert not (tmp_path / "d").exists()
    monkeypatch.setitem(dl.SOURCES, "ptb", sources)
    log = io.StringIO()
    dl.download("ptb", tmp_path / "d", progress=log)
    for split in ("train", "valid", "test"):
        assert (tmp_path / "d" / f"ptb.{split}.txt").read_text() == f" the {split} words \n"
    assert leftovers(tmp_path / "d") == []
    assert log.getvalue().endswith("; sha256 verified\n")


def test_semeval_zip_members_are_lifted_out(tmp_path, monkeypatch):
    """The release zip keeps the two files two folders deep; they land directly in DIR."""
    full = b'8001\t"The <e1>company</e1> fabricates plastic <e2>chairs</e2>."\r\n' \
           b"Product-Producer(e2,e1)\r\nComment:\r\n\r\n"
    archive = tmp_path / "src" / "SemEval2010_task8_all_data.zip"
    archive.parent.mkdir()
    top = "SemEval2010_task8_all_data"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"{top}/SemEval2010_task8_training/TRAIN_FILE.TXT",
                    full.replace(b"8001", b"1"))
        zf.writestr(f"{top}/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT", full)
        zf.writestr(f"{top}/SemEval2010_task8_testing/TEST_FILE.txt", b"8001\tx\r\n")
    monkeypatch.setitem(dl.SOURCES, "semeval2010", pinned(archive))
    dest = tmp_path / "d"
    dl.download("semeval2010", dest, progress=None)
    assert sorted(p.name for p in dest.iterdir()) == ["TEST_FILE_FULL.TXT", "TRAIN_FILE.TXT"]
    assert read_semeval(dest / "TEST_FILE_FULL.TXT")[0]["label"] == "Product-Producer(e2,e1)"
    assert read_semeval(dest / "TRAIN_FILE.TXT")[0]["id"] == "1"
    with zipfile.ZipFile(archive, "w") as zf:             # the test file is not in it
        zf.writestr(f"{top}/SemEval2010_task8_training/TRAIN_FILE.TXT", full)
    monkeypatch.setitem(dl.SOURCES, "semeval2010", pinned(archive))
    with pytest.raises(dl.DownloadError, match=r"^semeval2010: the downloaded files lack "
                                               rf"{top}/SemEval2010_task8_testing_keys/"
                                               r"TEST_FILE_FULL\.TXT;"):
        dl.download("semeval2010", tmp_path / "e", progress=None)
    assert not (tmp_path / "e").exists()


def test_partial_existing_data_is_not_overwritten(tmp_path, monkeypatch):
    (tmp_path / "eng.train").write_text("mine\n")
    monkeypatch.setitem(dl.SOURCES, "conll2003", (Source("http://127.0.0.1:9/eng.train",
                                                            NO_SHA),))
    with pytest.raises(dl.DownloadError, match=rf"^conll2003: {tmp_path} already holds "
                                               r"eng.train but not the whole data set"):
        dl.download("conll2003", tmp_path, progress=None)
    assert (tmp_path / "eng.train").read_text() == "mine\n"


@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server over ``tmp_path/www``; yields its directory, base URL and the list of
    request lines it has served."""
    www = tmp_path / "www"
    www.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, fmt, *args):              # record instead of printing
            requests.append(self.requestline)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Handler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def test_http_success_and_404(http_dir, tmp_path, monkeypatch):
    www, base, _ = http_dir
    data = b'1\t"The <e1>a</e1> b <e2>c</e2>."\nOther\nComment:\n\n'
    for name in ("TRAIN_FILE.TXT", "TEST_FILE_FULL.TXT"):
        (www / name).write_bytes(data)
    monkeypatch.setitem(dl.DATASETS, "semeval2010",       # the loose files, not the zip
                        Dataset("SemEval", ("TRAIN_FILE.TXT", "TEST_FILE_FULL.TXT"), ()))
    monkeypatch.setitem(dl.SOURCES, "semeval2010", (Source(f"{base}/TRAIN_FILE.TXT", sha(data)),
                                                    Source(f"{base}/nope.TXT", NO_SHA)))
    with pytest.raises(dl.DownloadError, match=r"reason: HTTP 404: File not found"):
        dl.download("semeval2010", tmp_path / "d", progress=None)
    assert not (tmp_path / "d").exists()
    monkeypatch.setitem(dl.SOURCES, "semeval2010",
                        tuple(Source(f"{base}/{n}", sha(data))
                              for n in ("TRAIN_FILE.TXT", "TEST_FILE_FULL.TXT")))
    dl.download("semeval2010", tmp_path / "d", progress=None)
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["TEST_FILE_FULL.TXT",
                                                                 "TRAIN_FILE.TXT"]


# ---------------------------------------------------------------- checksums
def test_checksum_mismatch_unpacks_nothing_and_keeps_dest(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "src" / "20news-bydate.tar.gz", NG_MEMBERS)
    wrong = sha(b"the archive we meant")
    monkeypatch.setitem(dl.SOURCES, "20ng", (Source(archive.as_uri(), wrong),))
    unpacked = []
    monkeypatch.setattr(dl, "_unpack", lambda *a: unpacked.append(a))
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    with pytest.raises(dl.ChecksumError) as err:
        dl.download("20ng", dest, progress=None)
    msg = str(err.value)
    assert msg.startswith("20ng: checksum mismatch, the download is not the pinned file\n"
                          f"  URL: {archive.as_uri()}\n"
                          f"  expected sha256: {wrong}\n"
                          f"  actual sha256:   {sha(archive.read_bytes())}\n"
                          f"The downloaded file was deleted; nothing was unpacked or placed in "
                          f"{dest}.")
    assert "To get it manually" in msg
    assert (err.value.url, err.value.expected) == (archive.as_uri(), wrong)
    assert unpacked == []                                  # _unpack was never called
    assert sorted(p.name for p in dest.rglob("*")) == ["notes.txt"]   # no .part, no output
    assert (dest / "notes.txt").read_text() == "mine\n"
    assert dl.main(["20ng", "--dest", str(tmp_path / "new")]) == 1   # CLI: exit 1, no dir
    assert not (tmp_path / "new").exists()


def test_checksum_mismatch_over_http_removes_partial_files(http_dir, tmp_path, monkeypatch):
    www, base, _ = http_dir
    (www / "ptb.train.txt").write_bytes(b" good \n")
    (www / "ptb.valid.txt").write_bytes(b" tampered \n")
    monkeypatch.setitem(dl.SOURCES, "ptb", (Source(f"{base}/ptb.train.txt", sha(b" good \n")),
                                            Source(f"{base}/ptb.valid.txt", sha(b" good \n")),
                                            Source(f"{base}/ptb.test.txt", NO_SHA)))
    good, bad = sha(b" good \n"), sha(b" tampered \n")
    with pytest.raises(dl.ChecksumError, match=rf"URL: {base}/ptb\.valid\.txt\n"
                                               rf"  expected sha256: {good}\n"
                                               rf"  actual sha256:   {bad}\n") as err:
        dl.download("ptb", tmp_path / "d", progress=None)
    assert (err.value.expected, err.value.actual) == (good, bad)
    assert not (tmp_path / "d").exists()                   # the verified first file went too
    # fetch() on its own: neither the file nor its .part is left
    target = tmp_path / "one" / "ptb.valid.txt"
    target.parent.mkdir()
    with pytest.raises(dl.ChecksumError, match=rf"^sha256 mismatch for {base}/ptb\.valid\.txt: "
                                               rf"expected {good}, got {bad}$"):
        dl.fetch(f"{base}/ptb.valid.txt", target, progress=None, sha256=good)
    assert list(target.parent.iterdir()) == []
    assert dl.fetch(f"{base}/ptb.train.txt", target, progress=None,
                    sha256=good.upper()) == target         # hex case does not matter
    assert target.read_bytes() == b" good \n"


def test_unverified_source_needs_the_flag(http_dir, tmp_path, monkeypatch, capsys):
    www, base, requests = http_dir
    files = {"eng.train": b"EU NNP I-NP I-ORG\n", "eng.testa": b"a DT I-NP O\n",
             "eng.testb": b"b DT I-NP O\n"}
    for name, data in files.items():
        (www / name).write_bytes(data)
    monkeypatch.setitem(dl.SOURCES, "conll2003", tuple(Source(f"{base}/{n}", None)
                                                       for n in files))
    dest = tmp_path / "d"
    with pytest.raises(dl.UnverifiedSourceError) as err:
        dl.download("conll2003", dest, progress=None)
    msg = str(err.value)
    assert msg.startswith(f"conll2003: refusing to download without a checksum: no sha256 is "
                          f"pinned for\n    {base}/eng.train\n    {base}/eng.testa\n")
    assert "Run again with --allow-unverified" in msg
    assert "(sha256 unknown: no published checksum)" in msg and "To get it manually" in msg
    assert requests == [] and not dest.exists()           # refused before any request
    assert dl.main(["conll2003", "--dest", str(dest)]) == 1
    assert "refusing to download without a checksum" in capsys.readouterr().err
    assert requests == [] and not dest.exists()

    assert dl.main(["conll2003", "--dest", str(dest), "--allow-unverified"]) == 0
    err = capsys.readouterr().err
    assert "WARNING: conll2003: --allow-unverified: downloading WITHOUT checksum verification" \
        in err
    assert "!" * 78 in err
    for name, data in files.items():
        assert (dest / name).read_bytes() == data
        assert f"    {name}  sha256 {sha(data)}" in err     # what was got, to compare by hand
    assert err.endswith(f"conll2003: ready in {dest} (eng.train, eng.testa, eng.testb); "
                        f"NOT verified\n")
    assert len(requests) == 3
    # silent progress still warns, on stderr
    dl.download("conll2003", tmp_path / "e", progress=None, allow_unverified=True)
    assert "WITHOUT checksum verification" in capsys.readouterr().err


def test_a_verified_data_set_never_needs_the_flag(tmp_path, monkeypatch):
    src = tmp_path / "ptb.train.txt"
    src.write_bytes(b" w \n")
    monkeypatch.setitem(dl.DATASETS, "ptb", Dataset("PTB", ("ptb.train.txt",), ()))
    monkeypatch.setitem(dl.SOURCES, "ptb", pinned(src))
    log = io.StringIO()
    dl.download("ptb", tmp_path / "d", progress=log, allow_unverified=True)
    assert "WARNING" not in log.getvalue() and log.getvalue().endswith("; sha256 verified\n")


# ---------------------------------------------------------------- manual placement
def test_manual_placement_is_reported_not_verified(tmp_path, monkeypatch):
    for name, data in NG_MEMBERS.items():                 # 20ng placed by hand
        (tmp_path / "ng" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "ng" / name).write_bytes(data)
    monkeypatch.setitem(dl.SOURCES, "20ng", (Source("http://127.0.0.1:9/x.tgz", NO_SHA),))
    log = io.StringIO()
    assert dl.download("20ng", tmp_path / "ng", progress=log) == tmp_path / "ng"
    assert log.getvalue() == (f"20ng: already present in {tmp_path / 'ng'}, nothing to do; NOT "
                              f"verified: files already in place (placed by hand or by an earlier "
                              f"run) are not checked against a checksum\n")
    for name in ("eng.train", "eng.testa", "eng.testb"):  # conll2003 by hand: used, and the
        (tmp_path / "conll" / name).parent.mkdir(exist_ok=True)   # mismatch is reported
        (tmp_path / "conll" / name).write_text("EU NNP I-NP I-ORG\n")
    log = io.StringIO()
    dl.download("conll2003", tmp_path / "conll", progress=log)
    assert "eng.train, eng.testa, eng.testb differ from the pinned sha256 (used as they are" \
        in log.getvalue()


def test_manual_plain_files_are_checked_when_pinned(tmp_path, monkeypatch, capsys):
    src = tmp_path / "src"
    src.mkdir()
    for split in ("train", "valid", "test"):
        (src / f"ptb.{split}.txt").write_text(f" {split} \n")
    monkeypatch.setitem(dl.SOURCES, "ptb",
                        pinned(*(src / f"ptb.{s}.txt" for s in ("train", "valid", "test"))))
    log = io.StringIO()
    dl.download("ptb", src, progress=log)                 # the very bytes that are pinned
    assert log.getvalue() == (f"ptb: already present in {src}, nothing to do; sha256 verified "
                              f"(ptb.train.txt, ptb.valid.txt, ptb.test.txt)\n")
    (src / "ptb.valid.txt").write_text(" edited by hand \n")
    assert dl.main(["ptb", "--dest", str(src)]) == 0        # still used, but said so
    assert capsys.readouterr().err == (f"ptb: already present in {src}, nothing to do; NOT "
                                       f"verified: ptb.valid.txt differ from the pinned sha256 "
                                       f"(used as they are; delete them and run again to "
                                       f"download checked copies)\n")
    assert (src / "ptb.valid.txt").read_text() == " edited by hand \n"
