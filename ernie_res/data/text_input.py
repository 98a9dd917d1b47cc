"""Reading user inputs for ``tools/infer.py`` on text tasks.

Accepted inputs:

* a ``.jsonl`` file: one JSON object per line with a ``text`` field (and optionally ``id``);
* a directory: every regular file below it is one document (UTF-8, or latin-1 when the
  bytes are not valid UTF-8, as in 20 Newsgroups); its id is the relative path;
* any other file: one document per line (blank lines are documents too: they are kept and
  predicted, so output line N always answers input line N).

A malformed JSONL line does not stop the run: it is returned in ``errors`` with its line
number, and the caller reports it next to the predictions of the valid lines.
"""
import json
from pathlib import Path


def _decode(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_text_inputs(path):
    """Return ``(records, errors)``: records ``{"id", "text", "line"}``, errors ``{"line", "error"}``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input {path} does not exist")
    records, errors = [], []
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            records.append({"id": str(f.relative_to(path)), "text": _decode(f.read_bytes()),
                            "line": None})
        return records, errors
    lines = _decode(path.read_bytes()).splitlines()
    if path.suffix == ".jsonl":
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise ValueError('expected an object with a string "text" field')
            except ValueError as e:
                errors.append({"id": f"{path.name}:{i}", "line": i,
                               "error": f"{path}:{i}: {e}"})
                continue
            records.append({"id": str(obj.get("id", f"{path.name}:{i}")), "text": obj["text"],
                            "line": i})
        return records, errors
    for i, line in enumerate(lines, 1):
        records.append({"id": f"{path.name}:{i}", "text": line, "line": i})
    return records, errors
