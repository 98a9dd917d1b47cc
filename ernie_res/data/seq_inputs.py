"""Reading user inputs for tagging (``tools/infer.py`` on a SEQ model).

Two kinds of file are accepted and told apart by their first 50 non-blank lines:

* CoNLL columns (every line has at least two fields and a tag last): read with
  ``read_conll``; the predictions are written back as ``word gold predicted`` columns, the
  input conlleval reads;
* anything else: one text per line, split into words (runs of word characters, each
  punctuation mark alone) with their character offsets, so entities can be returned as
  spans of the original text.
"""
import re
from pathlib import Path

from ernie_res.data.conll import read_conll

_WORD = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]", re.UNICODE)
_CONLL_TAG = re.compile(r"^(O|[BIES]-\S+)$")


def split_words(text):
    """``[(word, start, end)]`` for raw text: runs of word characters, each punctuation alone."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def looks_like_conll(lines):
    """True when the first 50 non-blank lines are all ``word ... TAG`` columns."""
    rows = [ln.split() for ln in lines if ln.strip()]
    return bool(rows) and all(len(r) >= 2 and _CONLL_TAG.match(r[-1]) for r in rows[:50])


def read_seq_inputs(path, scheme="IOB2"):
    """Return the examples of an input file (see the module docstring).

    CoNLL examples carry ``words``, ``tags`` and ``line``; text examples carry ``text``,
    ``words``, ``offsets`` (``[(start, end)]`` per word) and ``line``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input {path} does not exist")
    lines = path.read_text(encoding="utf-8").splitlines()
    if looks_like_conll(lines):
        examples = read_conll(path, scheme=scheme)
        for e in examples:
            e["line"] = int(e["id"].rsplit(":", 1)[1])
        return examples
    examples = []
    for n, line in enumerate(lines, 1):
        words = split_words(line)
        examples.append({"id": f"{path.name}:{n}", "text": line, "line": n,
                         "words": [w for w, _, _ in words],
                         "offsets": [(s, e) for _, s, e in words]})
    return examples
