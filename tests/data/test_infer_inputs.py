"""Inference inputs of every task read one record per input line (issue #10, section 5).

* Lines end at ``\\n`` (or ``\\r\\n``) only: a form feed, ``\\x1c`` or U+2028 inside a line is
  text, so N input lines give N records and every error names the right line.
* A blank (empty or whitespace-only) line is an entry ``{"id", "line", "blank": True}`` in
  every task's line-per-record input, so ``api.predict`` can answer it in place.
* Duplicate ids are allowed; order is the file's.
* Bytes that are not UTF-8 give an error naming ``file:line`` (an error entry for one line of a
  line-per-record file; a ``DataFormatError`` for CoNLL columns). Only a directory of postings
  (DOC) keeps the latin-1 fallback of 20 Newsgroups.
"""
import json

import pytest

from ernie_res.data.errors import DataFormatError
from ernie_res.data.rel_inputs import read_rel_inputs
from ernie_res.data.sentences import read_sentence_inputs
from ernie_res.data.seq_inputs import read_seq_inputs
from ernie_res.data.text_input import read_text_inputs

ODD = ["a form\ffeed", "a file\x1cseparator", "a line\u2028separator"]


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def live(entries):
    return [e for e in entries if not e.get("blank")]


# ---------------------------------------------------------------- lines end at \n only
def test_doc_text_lines_split_on_newline_only(tmp_path):
    path = write(tmp_path / "in.txt", "\n".join(ODD) + "\n")
    records, errors = read_text_inputs(path)
    assert errors == []
    assert [(r["id"], r["text"], r["line"]) for r in records] == [
        ("in.txt:1", ODD[0], 1), ("in.txt:2", ODD[1], 2), ("in.txt:3", ODD[2], 3)]


def test_doc_jsonl_lines_split_on_newline_only_and_crlf_is_one_ending(tmp_path):
    body = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\r\n" for t in ODD)
    path = write(tmp_path / "in.jsonl", body)          # U+2028 is written as it is
    assert "\u2028" in path.read_text(encoding="utf-8")
    records, errors = read_text_inputs(path)
    assert [(r["line"], r["text"]) for r in records] == [(1, ODD[0]), (2, ODD[1]), (3, ODD[2])]
    assert [e["line"] for e in errors] == []


def test_seq_text_lines_split_on_newline_only(tmp_path):
    path = write(tmp_path / "in.txt", "\n".join(ODD) + "\n")
    examples, errors = read_seq_inputs(path)
    assert errors == [] and [e["line"] for e in examples] == [1, 2, 3]
    assert [e["text"] for e in examples] == ODD


def test_rel_lines_split_on_newline_only_and_errors_cite_the_right_line(tmp_path):
    path = write(tmp_path / "in.txt", "The <e1>post</e1>\fcame <e2>late</e2>.\n"
                                      "no\u2028markup here\n"
                                      "A <e1>puck</e1> hit\x1cthe <e2>goalie</e2>\n")
    examples, errors = read_rel_inputs(path)
    assert [e["line"] for e in examples] == [1, 3]
    assert [(e["id"], e["line"]) for e in errors] == [("in.txt:2", 2)]
    assert errors[0]["error"].startswith(f"{path}:2: expected exactly one <e1>")


def test_gen_lines_split_on_newline_only(tmp_path):
    path = write(tmp_path / "in.txt", "\n".join(ODD) + "\n")
    examples, errors = read_sentence_inputs(path)
    assert errors == [] and [(e["line"], e["text"]) for e in examples] == [
        (1, ODD[0]), (2, ODD[1]), (3, ODD[2])]


# ---------------------------------------------------------------- blank lines
def test_blank_lines_are_blank_entries_in_every_reader(tmp_path):
    text = "first line\n\n   \nlast line\n"
    jsonl = '{"text": "first line"}\n\n   \n{"text": "last line"}\n'
    cases = {
        "doc txt": read_text_inputs(write(tmp_path / "d.txt", text)),
        "doc jsonl": read_text_inputs(write(tmp_path / "d.jsonl", jsonl)),
        "seq txt": read_seq_inputs(write(tmp_path / "s.txt", text)),
        "seq jsonl": read_seq_inputs(write(tmp_path / "s.jsonl", jsonl)),
        "rel": read_rel_inputs(write(tmp_path / "r.txt",
                                     "<e1>a</e1> x <e2>b</e2>\n\n   \n<e1>c</e1> y <e2>d</e2>\n")),
        "gen txt": read_sentence_inputs(write(tmp_path / "g.txt", text)),
        "gen jsonl": read_sentence_inputs(write(tmp_path / "g.jsonl", jsonl)),
    }
    for name, (examples, errors) in cases.items():
        assert errors == [], name
        assert [e["line"] for e in examples] == [1, 2, 3, 4], name
        assert [bool(e.get("blank")) for e in examples] == [False, True, True, False], name
        blank = examples[1]
        assert blank["blank"] is True and blank["id"].endswith(":2"), name


def test_a_final_newline_is_not_a_blank_line(tmp_path):
    for text in ("one\ntwo\n", "one\ntwo", "one\r\ntwo\r\n"):
        records, _ = read_text_inputs(write(tmp_path / "in.txt", text))
        assert [r["text"] for r in records] == ["one", "two"], repr(text)


# ---------------------------------------------------------------- duplicate ids
def test_duplicate_ids_are_kept_in_file_order(tmp_path):
    doc = write(tmp_path / "d.jsonl", "".join(json.dumps({"id": "x", "text": t}) + "\n"
                                               for t in ("one", "two", "three")))
    records, errors = read_text_inputs(doc)
    assert errors == [] and [(r["id"], r["text"]) for r in records] == [
        ("x", "one"), ("x", "two"), ("x", "three")]
    rel = write(tmp_path / "r.txt", '5\t"<e1>a</e1> x <e2>b</e2>"\n'
                                    '6\t"<e1>a</e1> y <e2>b</e2>"\n'
                                    '5\t"<e1>a</e1> z <e2>b</e2>"\n')
    examples, errors = read_rel_inputs(rel)
    assert errors == [] and [(e["id"], e["text"]) for e in examples] == [
        ("5", "a x b"), ("6", "a y b"), ("5", "a z b")]


# ---------------------------------------------------------------- SEQ reads .jsonl as JSONL
def test_seq_jsonl_text_and_tokens(tmp_path):
    path = write(tmp_path / "in.jsonl",
                 json.dumps({"id": "a", "text": "John lives in Paris."}) + "\n"
                 + json.dumps({"tokens": ["New", "York", "rose"]}) + "\n"
                 + json.dumps({"text": "x", "tokens": ["x"]}) + "\n"
                 + '{"txt": "y"}\n'
                 + json.dumps({"tokens": ["ok", 3]}) + "\n"
                 + "not json\n")
    examples, errors = read_seq_inputs(path)
    assert [(e["id"], e["line"]) for e in examples] == [("a", 1), ("in.jsonl:2", 2)]
    assert examples[0]["words"] == ["John", "lives", "in", "Paris", "."]
    assert examples[0]["offsets"][3] == (14, 19) and examples[0]["text"] == "John lives in Paris."
    assert examples[1]["words"] == ["New", "York", "rose"] and "offsets" not in examples[1]
    assert [e["line"] for e in errors] == [3, 4, 5, 6]
    assert errors[0]["error"] == (f'{path}:3: expected an object with a string "text" or a '
                                  f'"tokens" list of strings, got both')
    assert errors[1]["error"].startswith(f'{path}:4: expected an object with a string "text" '
                                         f'or a "tokens" list of strings')
    assert errors[2]["error"].startswith(f"{path}:5: ")
    assert errors[3]["error"].startswith(f"{path}:6: expected a JSON object, got invalid JSON")
    # the JSON punctuation is never tagged as words
    assert not any(w in ("{", '"', ":") for e in examples for w in e["words"])


# ---------------------------------------------------------------- non-UTF-8 input
def test_non_utf8_lines_are_errors_naming_file_and_line(tmp_path):
    latin = "good line\ncaf\xe9 au lait\nanother\n".encode("latin-1")
    for reader, name in ((read_text_inputs, "d.txt"), (read_seq_inputs, "s.txt"),
                         (read_sentence_inputs, "g.txt")):
        path = write(tmp_path / name, latin)
        examples, errors = reader(path)
        assert [e["line"] for e in live(examples)] == [1, 3], name
        assert errors == [{"id": f"{name}:2", "line": 2,
                           "error": f"{path}:2: expected UTF-8 text, got undecodable byte "
                                    f"0xe9 at column 4"}], name
    rel = write(tmp_path / "r.txt", "<e1>caf\xe9</e1> x <e2>b</e2>\n".encode("latin-1"))
    examples, errors = read_rel_inputs(rel)
    assert examples == [] and errors[0]["error"].startswith(f"{rel}:1: expected UTF-8 text")
    jsonl = write(tmp_path / "d.jsonl", b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    records, errors = read_text_inputs(jsonl)
    assert [r["line"] for r in records] == [1] and [e["line"] for e in errors] == [2]


def test_non_utf8_conll_input_names_file_and_line(tmp_path):
    path = write(tmp_path / "in.conll", "John B-PER\nruns O\n\nM\xfcller B-PER\n"
                 .encode("latin-1"))
    with pytest.raises(DataFormatError, match=rf"{path}:4: expected utf-8 text"):
        read_seq_inputs(path)


def test_doc_directory_input_keeps_the_latin1_fallback_and_skips_hidden_files(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / ".git").mkdir()
    (folder / "sub" / "a").write_bytes("caf\xe9".encode("latin-1"))
    (folder / "b").write_text("plain", encoding="utf-8")
    (folder / ".DS_Store").write_bytes(b"\x00\x01binary")
    (folder / "sub" / ".hidden").write_text("x", encoding="utf-8")
    (folder / ".git" / "HEAD").write_text("ref", encoding="utf-8")
    notes = []
    records, errors = read_text_inputs(folder, log=notes.append)
    assert errors == []
    assert records == [{"id": "b", "text": "plain", "line": None},
                       {"id": "sub/a", "text": "café", "line": None}]
    assert notes == [f"{folder}: skipped 3 hidden entries (names starting with '.', e.g. "
                     f".DS_Store, .git, sub/.hidden)"]
    read_text_inputs(folder)                      # no log given: still skipped, silently
