"""Sentence reader (text and JSONL), its error paths, and the bundled synthetic PTB sample."""
import re
from pathlib import Path

import pytest

from ernie_res.data.errors import DataFormatError
from ernie_res.data.sentences import read_sentences

ROOT = Path(__file__).resolve().parents[2]
PTB = ROOT / "data" / "sample" / "ptb"


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


def test_text_lines_are_stripped_and_blank_lines_counted(tmp_path):
    path = write(tmp_path, "ptb.toy.txt",
                 " the company said N \n\n mr. <unk> is chairman \r\n   \t \n café ok\n\n")
    examples, stats = read_sentences(path)
    assert examples == [
        {"id": "ptb.toy.txt:1", "text": "the company said N", "line": 1},
        {"id": "ptb.toy.txt:3", "text": "mr. <unk> is chairman", "line": 3},
        {"id": "ptb.toy.txt:5", "text": "café ok", "line": 5},
    ]
    assert stats == {"lines": 6, "blank": 3, "examples": 3}


def test_empty_file_and_byte_order_mark(tmp_path):
    assert read_sentences(write(tmp_path, "empty.txt", b"")) == (
        [], {"lines": 0, "blank": 0, "examples": 0})
    examples, stats = read_sentences(write(tmp_path, "bom.txt", b"\xef\xbb\xbfhello world\n"))
    assert examples[0]["text"] == "hello world" and stats["blank"] == 0
    examples, _ = read_sentences(write(tmp_path, "bom.jsonl", b'\xef\xbb\xbf{"text": "a b"}\n'))
    assert examples[0]["text"] == "a b"


def test_jsonl_reads_text_field_and_counts_blank_lines(tmp_path):
    path = write(tmp_path, "s.jsonl", '{"text": " a b ", "id": 7}\n\n{"text": "c", "x": 1}\n')
    examples, stats = read_sentences(path)
    assert examples == [{"id": "s.jsonl:1", "text": "a b", "line": 1},
                        {"id": "s.jsonl:3", "text": "c", "line": 3}]
    assert stats == {"lines": 3, "blank": 1, "examples": 2}
    # an explicit format wins over the file name
    examples, _ = read_sentences(path, format="text")
    assert examples[0]["text"] == '{"text": " a b ", "id": 7}'
    examples, _ = read_sentences(write(tmp_path, "t.txt", '{"text": "z"}\n'), format="jsonl")
    assert examples[0]["text"] == "z"


@pytest.mark.parametrize("line, message", [
    ('{"text": "a", }', r"expected a JSON object, got invalid JSON \(Expecting property name "
                        r"enclosed in double quotes at column 15\)"),
    ('["text"]', "expected a JSON object, got list"),
    ('{"sentence": "a"}', r"expected a 'text' field, got fields \['sentence'\]"),
    ('{"text": 3}', "expected 'text' to be a string, got int"),
    ('{"text": "  "}', "expected a non-blank 'text', got '  '"),
])
def test_jsonl_errors_name_file_and_line(tmp_path, line, message):
    path = write(tmp_path, "bad.jsonl", '{"text": "ok"}\n\n' + line + "\n")
    with pytest.raises(DataFormatError, match=re.escape(path) + ":3: " + message) as err:
        read_sentences(path)
    assert err.value.line == 3 and err.value.path == path


def test_undecodable_bytes_name_file_and_line(tmp_path):
    path = write(tmp_path, "latin.txt", b"fine\n\nok caf\xe9 here\n")
    with pytest.raises(DataFormatError, match=re.escape(path) + r":3: expected utf-8 text, got "
                                              r"undecodable byte 0xe9 at column 7"):
        read_sentences(path)
    examples, _ = read_sentences(path, encoding="latin-1")
    assert examples[1]["text"] == "ok café here"


def test_unknown_format():
    with pytest.raises(ValueError, match=r"read_sentences: expected format in \['auto', 'text', "
                                         r"'jsonl'\], got 'csv'"):
        read_sentences("x.txt", format="csv")


# ----------------------------------------------------------------------- bundled PTB sample


def test_ptb_sample_has_the_documented_shape():
    counts = {"train": 600, "valid": 100, "test": 100}
    for split, n in counts.items():
        path = PTB / f"ptb.{split}.txt"
        examples, stats = read_sentences(str(path))
        assert stats == {"lines": n, "blank": 0, "examples": n}
        raw = path.read_text(encoding="utf-8").splitlines()
        assert all(line.startswith(" ") and line.endswith(" ") for line in raw)
        text = " ".join(e["text"] for e in examples)
        assert not re.search(r"[0-9A-Z]", text.replace("N", ""))  # lower case, no digits
        tokens = text.split()
        assert "<unk>" in tokens and "N" in tokens
        assert all(2 <= len(e["text"].split()) <= 40 for e in examples)
