"""Reading user inputs for tagging (``tools/infer.py`` on a SEQ model).

Three kinds of file are accepted:

* a ``.jsonl`` file: one JSON object per line with either a string ``text`` (split into words
  with character offsets, as raw text below) or a ``tokens`` list of strings (the words, as
  they are), and optionally an ``id`` (ids need not be unique);
* CoNLL columns, told apart by their first 50 non-blank lines (every line has at least two
  fields and a tag last): read with ``read_conll``, strictly (a line that does not decode or
  is malformed raises ``DataFormatError`` naming ``file:line``); the predictions are written
  back as ``word gold predicted`` columns, the input conlleval reads. Blank lines separate
  sentences there, as in CoNLL;
* anything else: one text per line, split into words (runs of word characters, each
  punctuation mark alone) with their character offsets, so entities can be returned as
  spans of the original text.

JSONL and raw text are read one record per line with the rules of ``data/input_lines.py``:
lines end at ``\\n`` only, a line that is not UTF-8 or not a valid record is an error entry
naming ``file:line``, and a blank line is a blank entry answered in place, so output line N
answers input line N.
"""
import json
import re
from pathlib import Path

from ernie_res.data.conll import read_conll
from ernie_res.data.input_lines import input_lines, line_id, read_records

_WORD = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]", re.UNICODE)
_CONLL_TAG = re.compile(r"^(O|[BIES]-\S+)$")
_EXPECTED = 'expected an object with a string "text" or a "tokens" list of strings'


def split_words(text):
    """``[(word, start, end)]`` for raw text: runs of word characters, each punctuation alone."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def looks_like_conll(lines):
    """True when the first 50 non-blank lines are all ``word ... TAG`` columns."""
    rows = [ln.split() for ln in lines if ln.strip()]
    return bool(rows) and all(len(r) >= 2 and _CONLL_TAG.match(r[-1]) for r in rows[:50])


def text_example(rid, text, lineno):
    """An example of raw text: its words and their ``(start, end)`` character offsets."""
    words = split_words(text)
    return {"id": rid, "text": text, "line": lineno, "words": [w for w, _, _ in words],
            "offsets": [(s, e) for _, s, e in words]}


def _jsonl_example(path, lineno, line):
    """The example of one JSONL line; ``ValueError`` says what is wrong with it."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"expected a JSON object, got invalid JSON ({err.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{_EXPECTED}, got {type(obj).__name__}")
    if "text" in obj and "tokens" in obj:
        raise ValueError(f"{_EXPECTED}, got both")
    rid = str(obj["id"]) if obj.get("id") is not None else line_id(path, lineno)
    if "text" in obj:
        if not isinstance(obj["text"], str):
            raise ValueError(f'{_EXPECTED}, got a {type(obj["text"]).__name__} "text"')
        return text_example(rid, obj["text"], lineno)
    if "tokens" not in obj:
        raise ValueError(f"{_EXPECTED}, got fields {sorted(obj)}")
    tokens = obj["tokens"]
    if not isinstance(tokens, list):
        raise ValueError(f'{_EXPECTED}, got a {type(tokens).__name__} "tokens"')
    for i, tok in enumerate(tokens):
        if not isinstance(tok, str) or not tok.strip():
            raise ValueError(f"{_EXPECTED}, got token {i + 1} = {tok!r}")
    return {"id": rid, "line": lineno, "words": list(tokens)}


def read_seq_inputs(path, scheme="IOB2"):
    """Return ``(examples, errors)`` of an input file (see the module docstring).

    CoNLL examples carry ``words``, ``tags`` and ``line``; text examples carry ``text``,
    ``words``, ``offsets`` (``[(start, end)]`` per word) and ``line``; ``tokens`` examples
    carry ``words`` and ``line``. Blank lines of text and JSONL input are blank entries
    ``{"id", "line", "blank": True}``; errors are ``{"id", "line", "error"}``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input {path} does not exist")
    lines = input_lines(path)
    jsonl = path.suffix.lower() == ".jsonl"
    if not jsonl and looks_like_conll([text for _, text, bad in lines if bad is None]):
        examples = read_conll(path, scheme=scheme)
        for e in examples:
            e["line"] = int(e["id"].rsplit(":", 1)[1])
        return examples, []
    if jsonl:
        return read_records(path, lambda n, line: _jsonl_example(path, n, line), lines)
    return read_records(path, lambda n, line: text_example(line_id(path, n), line, n), lines)
