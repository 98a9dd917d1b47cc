"""Reader for SemEval-2010 Task 8, "Multi-Way Classification of Semantic Relations Between Pairs
of Nominals" (Hendrickx et al. 2010).

The official release has 8,000 training sentences (``TRAIN_FILE.TXT``, IDs 1-8000) and 2,717
test sentences (``TEST_FILE_FULL.TXT``, IDs 8001-10717). Both files use four lines per example,
with CRLF line endings::

    8001<TAB>"The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."
    Message-Topic(e1,e2)
    Comment: Assuming an audit = an audit document.
    <blank line>

The unlabelled ``TEST_FILE.TXT`` has only the ``ID<TAB>"sentence"`` lines, one per example;
its labels are in ``TEST_FILE_KEY.TXT`` (``ID<TAB>label`` per line), the answer-key format of
the official scorer (``ernie_res.metrics.semeval``).

There are 19 labels: 9 relations, each in two directions, and ``Other``. ``Cause-Effect(e2,e1)``
means e2 is the cause and e1 the effect. ``LABELS`` puts ``Other`` first (id 0, like ``O`` in
our tag vocabularies), then the relations in alphabetical order, ``(e1,e2)`` before ``(e2,e1)``.

Reading is strict: every malformed line raises ``DataFormatError`` with the file and line, and
no example is skipped. A UTF-8 byte-order mark, CRLF or LF endings, trailing whitespace on a
line and blank lines at the very end of a file are accepted.
"""
import collections
import os
import re

from ernie_res.data.entity_markers import parse_marked
from ernie_res.data.errors import DataFormatError, iter_lines

OTHER = "Other"
RELATIONS = ("Cause-Effect", "Component-Whole", "Content-Container", "Entity-Destination",
             "Entity-Origin", "Instrument-Agency", "Member-Collection", "Message-Topic",
             "Product-Producer")
DIRECTIONS = ("(e1,e2)", "(e2,e1)")
LABELS = (OTHER,) + tuple(rel + d for rel in RELATIONS for d in DIRECTIONS)
OFFICIAL_SIZES = {"TRAIN_FILE.TXT": 8000, "TEST_FILE_FULL.TXT": 2717, "TEST_FILE.TXT": 2717}
FORMATS = ("auto", "full", "sentences")

_ID_LINE = re.compile(r"(\S*)\t(.*)")
_LABEL_SET = frozenset(LABELS)


def split_label(label):
    """``"Cause-Effect(e2,e1)"`` -> ``("Cause-Effect", "(e2,e1)")``; ``"Other"`` -> ``("Other",
    None)``. Raises ValueError for a label not in ``LABELS``."""
    if label not in _LABEL_SET:
        raise ValueError(f"split_label: expected one of the 19 SemEval labels, got {label!r}")
    if label == OTHER:
        return OTHER, None
    return label[:-len("(e1,e2)")], label[-len("(e1,e2)"):]


def _read_lines(path, encoding):
    """``[(lineno, text)]`` without line endings; a BOM on line 1 is dropped."""
    lines = list(iter_lines(path, encoding))
    while lines and not lines[-1][1].strip():
        lines.pop()                      # blank lines at the very end
    return lines


def _parse_id_line(path, lineno, line, seen):
    """``ID<TAB>"sentence"`` -> the example dict without its label."""
    m = _ID_LINE.fullmatch(line)
    if m is None:
        raise DataFormatError(path, lineno, f"expected 'ID<TAB>\"sentence\"', got "
                                            f"{line[:60]!r}")
    sid, body = m.group(1), m.group(2).rstrip()
    if not sid.isdigit() or not sid.isascii():
        raise DataFormatError(path, lineno, f"expected a numeric sentence ID, got {sid!r}")
    if sid in seen:
        raise DataFormatError(path, lineno, f"expected unique IDs, got ID {sid} again (first "
                                            f"on line {seen[sid]})")
    seen[sid] = lineno
    quoted_start, quoted_end = body.startswith('"'), len(body) >= 2 and body.endswith('"')
    if quoted_start != quoted_end:
        raise DataFormatError(path, lineno, f"expected the sentence in double quotes, got "
                                            f"{body[:60]!r}")
    if quoted_start:
        body = body[1:-1]
    try:
        text, e1, e2 = parse_marked(body)
    except ValueError as err:
        raise DataFormatError(path, lineno, str(err).replace("parse_marked: ", "")) from None
    return {"id": sid, "text": text, "e1": list(e1), "e2": list(e2), "label": None,
            "comment": None, "line": lineno}


def _check_label(path, lineno, label):
    if label not in _LABEL_SET:
        raise DataFormatError(path, lineno, f"expected one of the 19 SemEval labels (e.g. "
                                            f"'Cause-Effect(e1,e2)' or 'Other'), got "
                                            f"{label[:60]!r}")
    return label


def read_key_lines(path, encoding="utf-8"):
    """Read an answer key ``ID<TAB>label`` per line (``TEST_FILE_KEY.TXT``, or an answer file).

    Returns:
        dict[str, tuple[str, int]]: ID -> ``(label, line)``, in file order.
    Raises:
        DataFormatError: a line without exactly one tab, a non-numeric or repeated ID, an
            unknown label, or an empty file.
    """
    key = {}
    for lineno, line in _read_lines(path, encoding):
        parts = line.rstrip().split("\t")
        if len(parts) != 2:
            raise DataFormatError(path, lineno, f"expected 'ID<TAB>label', got {line[:60]!r}")
        sid, label = parts
        if not sid.isdigit() or not sid.isascii():
            raise DataFormatError(path, lineno, f"expected a numeric ID, got {sid!r}")
        if sid in key:
            raise DataFormatError(path, lineno, f"expected unique IDs, got ID {sid} again "
                                                f"(first on line {key[sid][1]})")
        key[sid] = (_check_label(path, lineno, label), lineno)
    if not key:
        raise DataFormatError(path, None, "expected at least one 'ID<TAB>label' line, got an "
                                          "empty file")
    return key


def read_key(path, encoding="utf-8"):
    """``read_key_lines`` without line numbers: ``dict[str, str]`` ID -> label."""
    return {sid: label for sid, (label, _) in read_key_lines(path, encoding).items()}


def _end_of_file(path, lines, ex, what):
    return DataFormatError(path, lines[-1][0], f"expected {what} for sentence {ex['id']} (line "
                                               f"{ex['line']}), got the end of the file")


def _read_full(path, lines):
    """The four-line format: sentence, label, ``Comment:`` line, blank line."""
    examples, seen = [], {}
    i = 0
    while i < len(lines):
        lineno, line = lines[i]
        ex = _parse_id_line(path, lineno, line, seen)
        if i + 1 >= len(lines):
            raise _end_of_file(path, lines, ex, "a label line")
        l_no, l_text = lines[i + 1]
        if _ID_LINE.fullmatch(l_text) and l_text.split("\t")[0].isdigit():
            raise DataFormatError(path, l_no, f"expected a label line after sentence "
                                              f"{ex['id']}, got another sentence line")
        ex["label"] = _check_label(path, l_no, l_text.rstrip())
        if i + 2 >= len(lines):
            raise _end_of_file(path, lines, ex, "a 'Comment:' line")
        c_no, c_text = lines[i + 2]
        if not c_text.startswith("Comment:"):
            raise DataFormatError(path, c_no, f"expected a 'Comment:' line, got "
                                              f"{c_text[:60]!r}")
        ex["comment"] = c_text[len("Comment:"):].strip()
        if i + 3 < len(lines) and lines[i + 3][1].strip():
            raise DataFormatError(path, lines[i + 3][0], f"expected a blank line after the "
                                                         f"Comment line, got "
                                                         f"{lines[i + 3][1][:60]!r}")
        examples.append(ex)
        i += 4
    return examples


def read_semeval(path, key_path=None, fmt="auto", encoding="utf-8"):
    """Read a SemEval-2010 Task 8 file.

    Args:
        path (str): ``TRAIN_FILE.TXT``, ``TEST_FILE_FULL.TXT`` (four lines per example) or
            ``TEST_FILE.TXT`` (one ``ID<TAB>"sentence"`` line per example).
        key_path (str | None): an answer key (``TEST_FILE_KEY.TXT``). For a sentence-only
            file it supplies the labels; for a four-line file it must agree with the labels
            in the file. Either way its IDs must be exactly those of ``path``.
        fmt (str): ``"full"`` (four lines), ``"sentences"`` (one line) or ``"auto"``: one line
            per example when line 2 is another ``ID<TAB>...`` line or there is no line 2.
        encoding (str): text encoding.
    Returns:
        list[dict]: in file order, each ``{"id": str, "text": str (markup and surrounding
        quotes removed), "e1": [start, end), "e2": [start, end) (character spans in text),
        "label": str or None (sentence-only file without key), "comment": str or None (text
        after "Comment:"), "line": int (1-based line of the sentence)}``. Its length is the
        number of examples read (8,000 / 2,717 for the official files; see ``summary``).
    Raises:
        DataFormatError: a missing, duplicated, nested or unknown entity tag; an unknown label;
            a broken block (missing label, Comment or blank line); a non-numeric or repeated
            ID; a key missing an ID, having an extra one or disagreeing with the file; an
            empty file.
        ValueError: an unknown ``fmt``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"read_semeval: expected fmt in {list(FORMATS)}, got {fmt!r}")
    lines = _read_lines(path, encoding)
    if not lines:
        raise DataFormatError(path, None, "expected at least one example, got an empty file")
    if fmt == "auto":
        second = lines[1][1] if len(lines) > 1 else None
        one_line = second is None or (_ID_LINE.fullmatch(second) is not None
                                      and second.split("\t")[0].isdigit())
        fmt = "sentences" if one_line else "full"
    if fmt == "full":
        examples = _read_full(path, lines)
    else:
        seen = {}
        examples = [_parse_id_line(path, n, line, seen) for n, line in lines]
    if key_path is not None:
        _apply_key(path, examples, key_path, encoding)
    return examples


def _apply_key(path, examples, key_path, encoding):
    key = read_key_lines(key_path, encoding)
    for ex in examples:
        if ex["id"] not in key:
            raise DataFormatError(path, ex["line"], f"expected ID {ex['id']} in key file "
                                                    f"{os.path.basename(str(key_path))}, got "
                                                    f"no line for it")
        label, key_line = key[ex["id"]]
        if ex["label"] is not None and ex["label"] != label:
            raise DataFormatError(key_path, key_line, f"expected label {ex['label']!r} for ID "
                                                      f"{ex['id']} as on line {ex['line'] + 1} "
                                                      f"of {os.path.basename(str(path))}, got "
                                                      f"{label!r}")
        ex["label"] = label
    ids = {ex["id"] for ex in examples}
    for sid, (_, key_line) in key.items():
        if sid not in ids:
            raise DataFormatError(key_path, key_line, f"expected only IDs of "
                                                      f"{os.path.basename(str(path))}, got "
                                                      f"extra ID {sid}")


def summary(examples, name=None):
    """Counts per label as a printable table (all 19 labels, zeros included).

    Args:
        examples (list[dict]): as returned by ``read_semeval``.
        name (str | None): a file name; when it is an official file, its official size is
            printed next to the count read.
    Returns:
        str
    """
    counts = collections.Counter()
    for i, ex in enumerate(examples):
        label = ex.get("label")
        if label is not None and label not in _LABEL_SET:
            raise ValueError(f"summary: expected SemEval labels, got {label!r} in example {i}")
        counts[label] += 1
    head = f"{len(examples)} examples"
    if name is not None:
        official = OFFICIAL_SIZES.get(os.path.basename(str(name)))
        head = f"{name}: {head}" + (f" (official: {official})" if official else "")
    width = max(len(label) for label in LABELS)
    lines = [head, f"{'label':<{width}}  count"]
    lines += [f"{label:<{width}}  {counts[label]:5d}" for label in LABELS]
    if counts[None]:
        lines.append(f"{'(no label)':<{width}}  {counts[None]:5d}")
    relations = sum(counts[label] for label in LABELS[1:])
    lines.append(f"{'relations (not Other)':<{width}}  {relations:5d}")
    return "\n".join(lines)
