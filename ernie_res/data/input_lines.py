"""Line-per-record inference inputs: one input line is one record, and output line N answers
input line N.

Every inference reader (``text_input.py``, ``seq_inputs.py`` for raw text and JSONL,
``rel_inputs.py``, ``sentences.read_sentence_inputs``) reads its file through ``read_records``,
giving it only how to parse one line, so they all follow the same rules:

* **Lines end at ``\\n``** (a ``\\r`` before it is part of the ending). ``str.splitlines()`` is
  not used: it also breaks at ``\\f``, ``\\v``, ``\\x1c``-``\\x1e``, ``\\x85``, U+2028 and
  U+2029, which then shifted every later record and line number (form feeds are common in
  20 Newsgroups posts). A final newline ends the last line; it does not start another one.
* **Each line is decoded on its own as UTF-8** (a byte-order mark at the start of the file is
  dropped). A line that does not decode is an error entry naming ``file:line``; the other
  lines are still read.
* **A blank line (empty or whitespace only) is a record with an empty result**: the reader
  returns the entry ``{"id": "<file name>:<line>", "line": N, "blank": True}`` in place, and
  ``api.predict`` answers it with the row ``{"id", "blank": true}``, so the output keeps one
  row per input line. Blank lines are never errors (``--strict`` accepts them).
* **A malformed line** is an error entry ``{"id", "line", "error": "<file>:<line>: ..."}``; the
  caller writes it as an ``{"id", "error"}`` row in its place.
* **Ids need not be unique**: records are matched to their lines by position, never by id.
"""
import codecs
import os
from pathlib import Path

from ernie_res.data.errors import DataFormatError


def input_lines(path, encoding="utf-8"):
    """``[(line number, text or None, error message or None)]`` of every line of ``path``.

    ``text`` is the line without its ending; when the line does not decode it is ``None``
    and the message reads ``"<path>:<line>: expected UTF-8 text, got undecodable byte 0x..
    at column C"`` (C counts bytes from 1).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input {path} does not exist")
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()              # the final newline ends the last line
    out = []
    for lineno, raw in enumerate(raw_lines, 1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            out.append((lineno, raw.decode(encoding), None))
        except UnicodeDecodeError as err:
            name = "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding
            out.append((lineno, None, str(DataFormatError(
                path, lineno, f"expected {name} text, got undecodable byte "
                              f"0x{raw[err.start]:02x} at column {err.start + 1}"))))
    return out


def line_id(path, lineno):
    """The id of a record without one of its own: ``"<file name>:<line>"``."""
    return f"{os.path.basename(str(path))}:{lineno}"


def blank_entry(path, lineno):
    """The entry of a blank line: answered in place with ``{"id", "blank": true}``."""
    return {"id": line_id(path, lineno), "line": lineno, "blank": True}


def error_entry(path, lineno, message, record_id=None):
    """The entry of a bad line; ``message`` is what was expected and found (without the
    ``file:line`` prefix, which is added unless it is there already)."""
    prefix = f"{path}:{lineno}: "
    text = message if str(message).startswith(prefix) \
        else str(DataFormatError(path, lineno, message))
    return {"id": record_id if record_id is not None else line_id(path, lineno), "line": lineno,
            "error": text}


def is_blank(text):
    """Empty or whitespace only."""
    return not text.strip()


class RecordError(ValueError):
    """A bad input record; ``record_id`` is its own id when it has one (e.g. from JSONL)."""

    def __init__(self, message, record_id=None):
        super().__init__(message)
        self.record_id = record_id


def read_records(path, parse, lines=None):
    """``(entries, errors)`` of a line-per-record file, by the rules above.

    Args:
        path: the file.
        parse (callable): ``parse(lineno, text) -> dict`` for a non-blank line that decoded;
            it raises ``ValueError`` (a ``RecordError`` to name the record's own id) for a bad
            one, whose message needs no ``file:line`` prefix.
        lines: the result of ``input_lines(path)`` when the caller has read it already.

    Returns:
        tuple: entries (``parse``'s examples and blank entries, in file order) and error
        entries.
    """
    entries, errors = [], []
    for lineno, text, bad in (input_lines(path) if lines is None else lines):
        if bad is not None:
            errors.append(error_entry(path, lineno, bad))
        elif is_blank(text):
            entries.append(blank_entry(path, lineno))
        else:
            try:
                entries.append(parse(lineno, text))
            except ValueError as err:
                errors.append(error_entry(path, lineno, str(err),
                                          record_id=getattr(err, "record_id", None)))
    return entries, errors
