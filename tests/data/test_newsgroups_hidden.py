"""20 Newsgroups reader: hidden files and folders (``.DS_Store``, ``._x``, ``.git/``) are not
postings or groups. They are skipped and counted through ``log`` (issue #10, section 6)."""
import pytest

from ernie_res.data.errors import DataFormatError
from ernie_res.data.newsgroups import read_20ng


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def root(tmp_path):
    train = tmp_path / "20news-bydate-train"
    write(train / "sci.med" / "1", b"From: a@b\n\ndoctor\n")
    write(train / "sci.med" / ".DS_Store", b"\x00\x00\x00\x01Bud1")      # Finder metadata
    write(train / "sci.med" / "._1", b"\x00\x05\x16\x07")                # AppleDouble
    write(train / "sci.med" / ".cache" / "x", b"junk")                   # hidden sub-folder
    write(train / "sci.space" / "2", b"From: c@d\n\norbit\n")
    write(train / ".DS_Store", b"\x00\x00\x00\x01Bud1")                  # beside the groups
    write(train / ".git" / "HEAD", b"ref: refs/heads/main\n")            # a hidden "group"
    return tmp_path


def test_hidden_files_and_folders_are_skipped_and_counted(root):
    notes = []
    ex = read_20ng(root, "train", remove=(), log=notes.append)
    assert [(e["id"], e["label"]) for e in ex] == [("sci.med/1", "sci.med"),
                                                   ("sci.space/2", "sci.space")]
    assert notes == [f"{root / '20news-bydate-train'}: skipped 5 hidden entries (names "
                     f"starting with '.', e.g. .DS_Store, .git, sci.med/.DS_Store)"]


def test_without_a_log_hidden_entries_are_still_skipped(root):
    assert [e["id"] for e in read_20ng(root, "train")] == ["sci.med/1", "sci.space/2"]


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
