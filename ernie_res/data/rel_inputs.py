"""Reading user inputs for relation classification (``tools/infer.py`` on a REL model).

* Sentences with ``<e1>..</e1>``/``<e2>..</e2>`` markup, one per line, optionally
  ``ID<TAB>"sentence"`` as in SemEval's ``TEST_FILE.TXT``;
* ``.jsonl`` lines ``{"text", "e1": [s, e], "e2": [s, e], "id"?}`` with character spans, or
  ``{"text", "id"?}`` whose text has the markup (what ``Predictor.predict`` makes of a
  string).

The file is read one record per line with the rules of ``data/input_lines.py``: lines end at
``\n`` only, a blank line is a blank entry answered in place, and a bad line (not UTF-8,
malformed, or refused by ``check``) becomes an error entry naming the file and line while the
rest of the file is still read. Ids need not be unique: output line N answers input line N.
"""
import json
from pathlib import Path

from ernie_res.data.entity_markers import parse_marked, validate_spans
from ernie_res.data.input_lines import RecordError, line_id, read_records


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
    sid = str(rec["id"]) if isinstance(rec, dict) and rec.get("id") is not None else sid
    if isinstance(rec, dict) and isinstance(rec.get("text"), str) \
            and "e1" not in rec and "e2" not in rec:
        return (sid,) + parse_marked(rec["text"])          # "text" with <e1>/<e2> markup
    if not isinstance(rec, dict) or any(k not in rec for k in ("text", "e1", "e2")):
        raise ValueError(f"expected an object with text, e1 and e2 (or a text with <e1> and "
                         f"<e2> markup), got "
                         f"{sorted(rec) if isinstance(rec, dict) else type(rec).__name__}")
    e1, e2 = validate_spans(rec["text"], rec["e1"], rec["e2"])
    return sid, rec["text"], e1, e2


def read_rel_inputs(path, check=None):
    """Return ``(examples, errors)`` of an input file (see the module docstring).

    Args:
        path: the file.
        check (callable, optional): ``check(example)`` raises ``ValueError`` for an example
            the model cannot take (e.g. entities too far apart for ``max_seq_len``); the
            example then becomes an error entry.

    Returns:
        tuple: examples ``{"id", "text", "e1", "e2", "line"}`` (and blank entries ``{"id",
        "line", "blank": True}``) and errors ``{"id", "line", "error"}``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input {path} does not exist")
    jsonl = path.suffix.lower() == ".jsonl"

    def parse(n, line):
        sid = line_id(path, n)
        try:
            sid, text, e1, e2 = (_jsonl_line(line, sid) if jsonl else _markup_line(line, sid))
            ex = {"id": sid, "text": text, "e1": list(e1), "e2": list(e2), "line": n}
            if check is not None:
                check(ex)
        except ValueError as err:
            msg = str(err).replace("parse_marked: ", "").replace("validate_spans: ", "")
            raise RecordError(msg, record_id=sid) from None
        return ex

    return read_records(path, parse)
