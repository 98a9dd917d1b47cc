"""Reading user inputs for ``tools/infer.py`` on text tasks (DOC).

Accepted inputs:

* a ``.jsonl`` file: one JSON object per line with a string ``text`` field (and optionally
  ``id``; ids need not be unique);
* any other file: one document per line;
* a directory: every regular file below it is one document, its id the relative path. These
  are 20 Newsgroups-style postings, so a file that is not valid UTF-8 is read as latin-1 (as
  the 20NG reader does). Hidden files and directories (names starting with ``.``, such as
  ``.DS_Store`` or ``.git/``) are skipped and counted through ``log``.

Files are read one record per line with the rules of ``data/input_lines.py``: lines end at
``\\n`` only (a form feed inside a posting is text), each line must be UTF-8 (a line that is
not becomes an error naming ``file:line``; there is no latin-1 fallback for files), a blank line
is a blank entry answered in place, and a malformed JSONL line is an error entry. So output
line N always answers input line N.
"""
import json
import os
from pathlib import Path

from ernie_res.data.input_lines import line_id, read_records


def _decode(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def hidden_note(where, skipped):
    """``"<where>: skipped N hidden entries (names starting with '.', e.g. a, b, c)"``."""
    return (f"{where}: skipped {len(skipped)} hidden "
            f"{'entry' if len(skipped) == 1 else 'entries'} (names starting with '.', e.g. "
            f"{', '.join(skipped[:3])})")


def _read_dir(path, log):
    files, skipped = [], []
    for top, dirs, names in os.walk(path):
        rel_top = Path(top).relative_to(path)
        for name in sorted(dirs) + sorted(names):
            if name.startswith("."):
                skipped.append((rel_top / name).as_posix())  # the entry, not its content
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        files += [Path(top) / n for n in names if not n.startswith(".")]
    records = [{"id": f.relative_to(path).as_posix(), "text": _decode(f.read_bytes()),
                "line": None} for f in sorted(files) if f.is_file()]
    if skipped and log is not None:
        log(hidden_note(path, sorted(skipped, key=Path)))
    return records


def _jsonl_record(path, lineno, line):
    obj = json.loads(line)                # a JSONDecodeError is a ValueError: an error row
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise ValueError('expected an object with a string "text" field')
    rid = obj.get("id")
    return {"id": str(rid) if rid is not None else line_id(path, lineno), "text": obj["text"],
            "line": lineno}


def read_text_inputs(path, log=None):
    """Return ``(records, errors)`` (see the module docstring).

    Records are ``{"id", "text", "line"}`` (``line`` is None for a directory's files) or
    blank entries ``{"id", "line", "blank": True}``; errors are ``{"id", "line", "error"}``.
    ``log`` (a callable, optional) receives the note on skipped hidden entries.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input {path} does not exist")
    if path.is_dir():
        return _read_dir(path, log), []
    if path.suffix.lower() == ".jsonl":
        return read_records(path, lambda n, line: _jsonl_record(path, n, line))
    return read_records(path, lambda n, line: {"id": line_id(path, n), "text": line,
                                               "line": n})
