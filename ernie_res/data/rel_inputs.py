"""Reading user inputs for relation classification (``tools/infer.py`` on a REL model).

* Sentences with ``<e1>..</e1>``/``<e2>..</e2>`` markup, one per line, optionally
  ``ID<TAB>"sentence"`` as in SemEval's ``TEST_FILE.TXT``;
* ``.jsonl`` lines ``{"text", "e1": [s, e], "e2": [s, e], "id"?}`` with character spans.

Blank lines are ignored. A bad line becomes an error entry naming the file and line, and the
rest of the file is still read.
"""
import json
from pathlib import Path

from ernie_res.data.entity_markers import parse_marked, validate_spans
from ernie_res.data.errors import DataFormatError


def _markup_line(line, sid):
    body = line.strip()
    head, tab, rest = body.partition("\t")
    if tab and head.strip().isdigit():
        sid, body = head.strip(), rest.strip()
    if len(body) >= 2 and body[0] == body[-1] == '"':
        body = body[1:-1]
    text, e1, e2 = parse_marked(body)
    return sid, text, e1, e2


def _jsonl_line(line, sid):
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"expected a JSON object, got invalid JSON ({err.msg})") from None
    if not isinstance(rec, dict) or any(k not in rec for k in ("text", "e1", "e2")):
        raise ValueError(f"expected an object with text, e1 and e2, got "
                         f"{sorted(rec) if isinstance(rec, dict) else type(rec).__name__}")
    e1, e2 = validate_spans(rec["text"], rec["e1"], rec["e2"])
    return (str(rec["id"]) if rec.get("id") is not None else sid), rec["text"], e1, e2


def read_rel_inputs(path, check=None):
    """Return ``(examples, errors)`` of an input file (see the module docstring).

    Args:
        path: the file.
        check (callable, optional): ``check(example)`` raises ``ValueError`` for an example
            the model cannot take (e.g. entities too far apart for ``max_seq_len``); the
            example then becomes an error entry.

    Returns:
        tuple: examples ``{"id", "text", "e1", "e2", "line"}`` and errors ``{"id", "line",
        "error"}``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input {path} does not exist")
    jsonl = path.suffix.lower() == ".jsonl"
    examples, errors, seen = [], [], {}
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        sid = f"{path.name}:{n}"
        try:
            sid, text, e1, e2 = (_jsonl_line(line, sid) if jsonl else _markup_line(line, sid))
            if sid in seen:
                raise ValueError(f"expected unique ids, got {sid!r} again (first on line "
                                 f"{seen[sid]})")
            ex = {"id": sid, "text": text, "e1": list(e1), "e2": list(e2), "line": n}
            if check is not None:
                check(ex)
        except ValueError as err:
            msg = str(err).replace("parse_marked: ", "").replace("validate_spans: ", "")
            errors.append({"id": sid if sid not in seen else f"{path.name}:{n}", "line": n,
                           "error": str(DataFormatError(path, n, msg))})
            continue
        seen[sid] = n
        examples.append(ex)
    return examples, errors
