"""20 Newsgroups reader: layout, latin-1, remove= semantics, ordering, errors, sample."""
import re
from pathlib import Path

import pytest

from ernie_res.data.errors import DataFormatError
from ernie_res.data.newsgroups import (clean_posting, read_20ng, strip_footer, strip_headers,
                                       strip_quotes)
from ernie_res.data.splits import label_counts

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "20news-bydate"
HINT = "python tools/download_data.py 20ng --dest DIR"

# A posting with headers, a quote block (both quote marks), a reply and a signature.
POST = (b"From: rene@host.org (Ren\xe9 Dub\xe9)\nSubject: caf\xe9 prices\nLines: 8\n\n"
        b"In article <1@host.org>, bob@host.org writes:\n> quoted line\n| pipe quoted\n"
        b"My caf\xe9 reply costs \xa33.\nsecond line\n\n-- \nRen\xe9 sig\n")
HEAD = "From: rene@host.org (René Dubé)\nSubject: café prices\nLines: 8\n"
QUOTE = "In article <1@host.org>, bob@host.org writes:\n> quoted line\n| pipe quoted\n"
REPLY = "My café reply costs £3.\nsecond line\n"
SIG = "\n-- \nRené sig\n"


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def root(tmp_path):
    train = tmp_path / "20news-bydate-train"
    write(train / "alt.atheism" / "100", POST)
    write(train / "alt.atheism" / "9", b"From: a@b\n\nnine\n")
    write(train / "alt.atheism" / "10", b"")                       # empty file
    write(train / "alt.atheism" / "notes", b"From: a@b\n\n")        # headers only
    write(train / "sci.crypt" / "15", b"From: c@d\r\n\r\nkey\r\n")  # CRLF line ends
    write(tmp_path / "20news-bydate-test" / "sci.crypt" / "7", b"From: e@f\n\n\xfcber\n")
    return tmp_path


# ---------------------------------------------------------------- layout, order, latin-1
def test_ids_labels_and_deterministic_order(root):
    ex = read_20ng(root, "train")
    # numeric ids in numeric order (9 < 10 < 100, not "10" < "100" < "9"), other names last
    assert [e["id"] for e in ex] == ["alt.atheism/9", "alt.atheism/10", "alt.atheism/100",
                                     "alt.atheism/notes", "sci.crypt/15"]
    assert [e["label"] for e in ex] == ["alt.atheism"] * 4 + ["sci.crypt"]
    assert set(ex[0]) == {"id", "text", "label"}
    assert read_20ng(root, "train") == ex
    assert read_20ng(root, "test") == [{"id": "sci.crypt/7", "text": "über\n",
                                        "label": "sci.crypt"}]


def test_latin1_bytes_and_crlf(root):
    ex = {e["id"]: e["text"] for e in read_20ng(root, "train", remove=())}
    assert ex["alt.atheism/100"] == HEAD + "\n" + QUOTE + REPLY + SIG
    assert ex["sci.crypt/15"] == "From: c@d\n\nkey\n"


def test_empty_documents_are_kept(root):
    for remove in [(), ("headers",), ("headers", "footers", "quotes")]:
        ex = {e["id"]: e["text"] for e in read_20ng(root, "train", remove=remove)}
        assert len(ex) == 5
        assert ex["alt.atheism/10"] == ""
    assert {e["id"]: e["text"] for e in read_20ng(root, "train")}["alt.atheism/notes"] == ""


# ---------------------------------------------------------------- remove=
@pytest.mark.parametrize("remove, expected", [
    ((), HEAD + "\n" + QUOTE + REPLY + SIG),
    (("headers",), QUOTE + REPLY + SIG),
    (("footers",), HEAD + "\n" + QUOTE + REPLY),
    (("quotes",), HEAD + "\n" + REPLY + SIG),
    (("headers", "footers"), QUOTE + REPLY),
    (("headers", "quotes"), REPLY + SIG),
    (("footers", "quotes"), HEAD + "\n" + REPLY),
    (("headers", "footers", "quotes"), REPLY),
    (("quotes", "headers", "footers"), REPLY),     # order of the tuple does not matter
    (["headers", "footers", "quotes"], REPLY),     # any iterable
])
def test_remove_options(root, remove, expected):
    ex = {e["id"]: e["text"] for e in read_20ng(root, "train", remove=remove)}
    assert ex["alt.atheism/100"] == expected


def test_default_removes_everything(root):
    assert {e["id"]: e["text"] for e in read_20ng(root, "train")}["alt.atheism/100"] == REPLY


def test_unknown_remove_entry_names_valid_ones(root):
    with pytest.raises(ValueError) as err:
        read_20ng(root, "train", remove=("headers", "signature"))
    assert str(err.value) == ("remove: expected a subset of ['headers', 'footers', 'quotes'], "
                              "got unknown entry ['signature']")


def test_strip_headers():
    assert strip_headers("A: 1\nB: 2\n\nbody\n\nmore") == "body\n\nmore"
    assert strip_headers("A: 1\nB: 2\n") == ""       # no blank line: all header
    assert strip_headers("\n\nbody") == "body"


def test_strip_footer():
    assert strip_footer("a\nb\n--\nsig\n") == "a\nb"
    assert strip_footer("a\n-- \nb\n-----\nsig") == "a\n-- \nb"   # the last dash line wins
    assert strip_footer("--\nall of it\n") == "--\nall of it\n"     # first line: unchanged
    assert strip_footer("a\n\nb\n") == "a"            # a blank line separates too (scikit-learn)
    assert strip_footer("a -- b\nc") == "a -- b\nc"                # dashes with other text


@pytest.mark.parametrize("line", [
    "> quoted", ">>nested", "| piped", "In article <x@y> z writes:", "bob@x.org writes:",
    "Bob wrote:", "Quoted from Bob:", "Bob says:", "Bob said:", "Bob writes in message",
])
def test_strip_quotes_drops(line):
    assert strip_quotes(f"keep\n{line}\nkeep too") == "keep\nkeep too"


@pytest.mark.parametrize("line", ["a > b", "the article said so", "x | y", "In the article"])
def test_strip_quotes_keeps(line):
    assert strip_quotes(line) == line


def test_clean_posting_order_headers_footers_quotes():
    # the footer is found before quotes are dropped, and quotes after the footer go with it
    text = "H: 1\n\nreply\n> q\n--\n> sig quote\n"
    assert clean_posting(text) == "reply"
    assert clean_posting(text, ("quotes",)) == "H: 1\n\nreply\n--\n"


# ---------------------------------------------------------------- errors
def test_missing_root(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as err:
        read_20ng(missing, "train")
    msg = str(err.value)
    assert str(missing / "20news-bydate-train") in msg and HINT in msg


def test_missing_split(root):
    (root / "20news-bydate-test" / "sci.crypt" / "7").unlink()
    (root / "20news-bydate-test" / "sci.crypt").rmdir()
    (root / "20news-bydate-test").rmdir()
    with pytest.raises(FileNotFoundError) as err:
        read_20ng(root, "test")
    assert str(err.value) == (f"20 Newsgroups test split not found: expected directory "
                              f"{root / '20news-bydate-test'}/<group>/<file id>; `{HINT}` "
                              f"fetches it")


def test_unknown_split(root):
    with pytest.raises(ValueError, match=r"^split: expected one of \['test', 'train'\], "
                                         r"got 'dev'$"):
        read_20ng(root, "dev")


def test_split_without_group_folders(tmp_path):
    (tmp_path / "20news-bydate-train").mkdir()
    with pytest.raises(DataFormatError) as err:
        read_20ng(tmp_path, "train")
    assert err.value.line is None
    assert str(err.value) == (f"{tmp_path / '20news-bydate-train'}: expected one folder per "
                              f"newsgroup (e.g. comp.graphics/), got no group folders")


def test_file_outside_group_folder(root):
    stray = root / "20news-bydate-train" / "12345"
    write(stray, b"From: x\n\nlost\n")
    with pytest.raises(DataFormatError) as err:
        read_20ng(root, "train")
    assert err.value.path == str(stray) and err.value.line is None
    assert str(err.value) == (f"{stray}: expected only group folders in "
                              f"{root / '20news-bydate-train'}, got a file outside any group "
                              f"folder")


def test_subfolder_and_empty_group(root):
    sub = root / "20news-bydate-train" / "sci.crypt" / "deeper"
    sub.mkdir()
    with pytest.raises(DataFormatError, match="got a sub-folder$") as err:
        read_20ng(root, "train")
    assert err.value.path == str(sub)
    sub.rmdir()
    (root / "20news-bydate-train" / "talk.empty").mkdir()
    with pytest.raises(DataFormatError, match="talk.empty: expected postings in this group "
                                              "folder, got an empty folder$"):
        read_20ng(root, "train")


# ---------------------------------------------------------------- the bundled sample
SAMPLE_TRAIN = {"comp.graphics": 60, "rec.autos": 62, "rec.sport.hockey": 58, "sci.med": 61,
                "sci.space": 59, "talk.politics.guns": 60}
SAMPLE_TEST = {"comp.graphics": 20, "rec.autos": 21, "rec.sport.hockey": 19, "sci.med": 20,
               "sci.space": 20, "talk.politics.guns": 19}


def test_sample_reads_with_documented_counts():
    train, test = read_20ng(SAMPLE, "train"), read_20ng(SAMPLE, "test")
    assert label_counts(train) == SAMPLE_TRAIN and label_counts(test) == SAMPLE_TEST
    # one empty body per split, plus one quote-only posting that empties once quotes go
    hq = ("headers", "quotes")
    assert [e["label"] for e in read_20ng(SAMPLE, "train", remove=hq)
            if e["text"] == ""] == ["comp.graphics", "sci.med"]
    assert [e["label"] for e in read_20ng(SAMPLE, "train", remove=("headers",))
            if e["text"] == ""] == ["sci.med"]
    assert [e["label"] for e in read_20ng(SAMPLE, "test", remove=hq)
            if e["text"] == ""] == ["rec.autos"]
    # scikit-learn's footer rule also drops the reply after a quote block: more empty posts
    assert sum(e["text"] == "" for e in train) > 2
    raw = read_20ng(SAMPLE, "train", remove=())
    assert all(re.match(r"From: .*\nSubject: .*\nOrganization: .*\nLines: \d+\n\n", e["text"])
               for e in raw)
    assert any("é" in e["text"] for e in raw) and any("£" in e["text"] for e in raw)
    assert sum("\n> " in e["text"] for e in raw) > 50
    assert sum(bool(re.search(r"\n-- ?\n", e["text"])) for e in raw) > 20
    words = [len(e["text"].split()) for e in read_20ng(SAMPLE, "train") if e["text"]]
    assert max(words) <= 300


def test_sample_readme_table_matches():
    readme = (SAMPLE.parent / "README.md").read_text(encoding="utf-8")
    rows = dict((g, (int(a), int(b))) for g, a, b in
                re.findall(r"^\| `([a-z.]+)` \| (\d+) \| (\d+) \|$", readme, re.M))
    assert rows == {g: (SAMPLE_TRAIN[g], SAMPLE_TEST[g]) for g in SAMPLE_TRAIN}
    assert "synthetic" in readme.lower()


# ---------------------------------------------------------------- hidden files
@pytest.fixture
def hidden_root(tmp_path):
    train = tmp_path / "20news-bydate-train"
    write(train / "sci.med" / "1", b"From: a@b\n\ndoctor\n")
    write(train / "sci.med" / ".DS_Store", b"\x00\x00\x00\x01Bud1")      # Finder metadata
    write(train / "sci.med" / "._1", b"\x00\x05\x16\x07")                # AppleDouble
    write(train / "sci.med" / ".cache" / "x", b"junk")                   # hidden sub-folder
    write(train / "sci.space" / "2", b"From: c@d\n\norbit\n")
    write(train / ".DS_Store", b"\x00\x00\x00\x01Bud1")                  # beside the groups
    write(train / ".git" / "HEAD", b"ref: refs/heads/main\n")            # a hidden "group"
    return tmp_path


def test_hidden_files_and_folders_are_skipped_and_counted(hidden_root):
    notes = []
    ex = read_20ng(hidden_root, "train", remove=(), log=notes.append)
    assert [(e["id"], e["label"]) for e in ex] == [("sci.med/1", "sci.med"),
                                                   ("sci.space/2", "sci.space")]
    assert notes == [f"{hidden_root / '20news-bydate-train'}: skipped 5 hidden entries (names "
                     f"starting with '.', e.g. .DS_Store, .git, sci.med/.DS_Store)"]


def test_without_a_log_hidden_entries_are_still_skipped(hidden_root):
    assert [e["id"] for e in read_20ng(hidden_root, "train")] == ["sci.med/1", "sci.space/2"]


def test_nothing_is_logged_when_nothing_is_hidden(tmp_path):
    write(tmp_path / "20news-bydate-test" / "sci.med" / "1", b"x")
    notes = []
    assert len(read_20ng(tmp_path, "test", log=notes.append)) == 1
    assert notes == []


def test_a_group_holding_only_hidden_files_is_empty(tmp_path):
    write(tmp_path / "20news-bydate-train" / "sci.med" / ".DS_Store", b"\x00")
    with pytest.raises(DataFormatError, match="sci.med: expected postings in this group "
                                              "folder, got an empty folder"):
        read_20ng(tmp_path, "train")
