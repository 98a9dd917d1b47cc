"""Reader for one-sentence-per-line corpora (language modelling / text-VAE data).

Two formats:

- **text**: one sentence per line, as in the Penn Treebank language-modelling split of
  T. Mikolov, M. Karafiat, L. Burget, J. Cernocky, S. Khudanpur, "Recurrent neural network
  based language model", Interspeech 2010 (``ptb.{train,valid,test}.txt``: lower-cased,
  ``<unk>`` for rare words, ``N`` for numbers, a space at the start and end of each line), and
  the Yahoo/Yelp files of Z. Yang, Z. Hu, R. Salakhutdinov, T. Berg-Kirkpatrick, "Improved
  Variational Autoencoders for Text Modeling using Dilated Convolutions", ICML 2017. The text
  is the line with surrounding whitespace removed; nothing else is changed.
- **jsonl**: one JSON object per line with a string field ``text`` (stripped the same way;
  other fields are ignored).

Blank (empty or whitespace-only) lines are skipped in both formats but counted in the returned
statistics, so a caller can see them. Everything else that is malformed raises
``DataFormatError`` with the file and the 1-based line.

``read_sentence_inputs`` reads the same two formats as inference input (``tools/infer.py
--mode reconstruct|interpolate``) with the rules every inference reader shares
(``data/input_lines.py``): a blank line is a blank entry answered in place, and a line that
does not decode or is malformed is an error entry naming ``file:line``, not the end of the run.
"""
import json
import os

from ernie_res.data.errors import DataFormatError, iter_lines
from ernie_res.data.input_lines import line_id, read_records

__all__ = ["read_sentences", "read_sentence_inputs", "FORMATS"]

FORMATS = ("auto", "text", "jsonl")


def _resolve_format(path, fmt):
    if fmt not in FORMATS:
        raise ValueError(f"read_sentences: expected format in {list(FORMATS)}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    return "jsonl" if str(path).lower().endswith((".jsonl", ".json")) else "text"


def _jsonl_text(path, lineno, line):
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataFormatError(path, lineno, f"expected a JSON object, got invalid JSON "
                                            f"({err.msg} at column {err.colno})") from None
    if not isinstance(record, dict):
        raise DataFormatError(path, lineno, f"expected a JSON object, got "
                                            f"{type(record).__name__}")
    if "text" not in record:
        raise DataFormatError(path, lineno, f"expected a 'text' field, got fields "
                                            f"{sorted(record)}")
    text = record["text"]
    if not isinstance(text, str):
        raise DataFormatError(path, lineno, f"expected 'text' to be a string, got "
                                            f"{type(text).__name__}")
    if not text.strip():
        raise DataFormatError(path, lineno, f"expected a non-blank 'text', got {text!r}")
    return text.strip()


def read_sentences(path, format="auto", encoding="utf-8"):
    """Read one sentence per line from a text or JSONL file.

    Args:
        path (str): the file.
        format (str): ``"text"``, ``"jsonl"`` or ``"auto"`` (``jsonl`` for a ``.jsonl`` or
            ``.json`` name, else ``text``).
        encoding (str): text encoding (a UTF-8 byte-order mark on line 1 is dropped).

    Returns:
        tuple: ``(examples, stats)``. ``examples`` is a list in file order of
        ``{"id": "<basename>:<line>", "text": str, "line": int}`` (``line`` is 1-based);
        ``stats`` is ``{"lines": int, "blank": int, "examples": int}`` where ``blank`` counts
        the skipped empty or whitespace-only lines.

    Raises:
        DataFormatError: undecodable bytes; in JSONL, a line that is not a JSON object, has no
            ``text`` field, or whose ``text`` is not a non-blank string.
        ValueError: an unknown ``format``.
    """
    fmt = _resolve_format(path, format)
    name = os.path.basename(str(path))
    examples = []
    blank = 0
    lineno = 0
    for lineno, line in iter_lines(path, encoding):
        if not line.strip():
            blank += 1
            continue
        text = _jsonl_text(path, lineno, line) if fmt == "jsonl" else line.strip()
        examples.append({"id": f"{name}:{lineno}", "text": text, "line": lineno})
    return examples, {"lines": lineno, "blank": blank, "examples": len(examples)}


def read_sentence_inputs(path, format="auto"):
    """Inference input: ``(examples, errors)`` in file order.

    Examples are ``{"id": "<basename>:<line>", "text", "line"}`` (the text stripped, as in
    ``read_sentences``) or blank entries ``{"id", "line", "blank": True}``; errors are
    ``{"id", "line", "error"}`` for a line that does not decode or, in JSONL, is not an object
    with a non-blank string ``text``.
    """
    fmt = _resolve_format(path, format)

    def parse(lineno, line):
        text = _jsonl_text(path, lineno, line) if fmt == "jsonl" else line.strip()
        return {"id": line_id(path, lineno), "text": text, "line": lineno}

    return read_records(path, parse)
