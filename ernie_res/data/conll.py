"""Reader for CoNLL-2003 NER files (Tjong Kim Sang & De Meulder 2003, "Introduction to the
CoNLL-2003 Shared Task: Language-Independent Named Entity Recognition").

The English files (``eng.train``, ``eng.testa``, ``eng.testb``) hold one token per line with four
fields separated by single spaces, ``word POS chunk NER``; a blank line ends a sentence and a
``-DOCSTART- -X- -X- O`` (or ``-DOCSTART- -X- O O``) line starts a document. Files with two fields
(``word tag``), or any other count of at least two, are read the same way: the word is the first
field and the entity tag the last. A single tab also counts as a field separator.

The original files use IOB1 tags; files converted to IOB2 or BIOES are accepted too. Tags are read
with conlleval's chunk rules (``ernie_res.data.tagging``) and re-written in the requested scheme,
so IOB1 ``I-X`` after ``O``, at sentence start or after another type becomes ``B-X``.

Documents are kept: ``doc_id`` counts documents from 0 (a file without ``-DOCSTART-`` is one
document) and ``sent_index`` counts sentences inside a document, so neighbouring sentences can
later be fed as context.
"""
import os
import re

from ernie_res.data.errors import DataFormatError, iter_lines
from ernie_res.data.tagging import from_spans, spans

READ_SCHEMES = ("IOB2", "BIOES")
DOCSTART = "-DOCSTART-"
_TAG = re.compile(r"O|[BIES]-.+")
_SEPARATOR = re.compile(r"[ \t]")


def read_conll(path, scheme="IOB2", encoding="utf-8"):
    """Read a CoNLL-2003 style file into one example per sentence.

    Args:
        path (str): the file.
        scheme (str): ``"IOB2"`` or ``"BIOES"``, the scheme of the returned ``tags``.
        encoding (str): text encoding of the file.
    Returns:
        list[dict]: in file order, each ``{"id": "<basename>:<line of first token>",
        "words": list[str] (verbatim), "tags": list[str] (in ``scheme``), "orig_tags":
        list[str] (as in the file), "doc_id": int, "sent_index": int}``.
    Raises:
        DataFormatError: a line whose field count differs from the first non-blank line, an
            empty field (two separators in a row, or one at the start or end of the line), fewer
            than two fields, a tag that is not ``O`` or ``B-``/``I-``/``E-``/``S-`` plus a type,
            a ``-DOCSTART-`` line inside a sentence, or text that does not decode.
        ValueError: an unknown ``scheme``.
    """
    if scheme not in READ_SCHEMES:
        raise ValueError(f"read_conll: expected scheme in {list(READ_SCHEMES)}, got {scheme!r}")
    name = os.path.basename(str(path))
    examples = []
    n_fields = None
    doc_id, sent_index = 0, 0
    started = False          # has the current document received a -DOCSTART- or a sentence?
    words, orig, first_line = [], [], None

    def flush():
        nonlocal sent_index, started
        if words:
            chunks = spans(orig, "BIOES")   # BIOES alphabet covers B/I/E/S files; rules are shared
            examples.append({"id": f"{name}:{first_line}", "words": list(words),
                             "tags": from_spans(chunks, len(orig), scheme),
                             "orig_tags": list(orig), "doc_id": doc_id,
                             "sent_index": sent_index})
            sent_index += 1
            started = True
        words.clear()
        orig.clear()

    for lineno, line in iter_lines(path, encoding):
        if not line.strip():
            flush()
            continue
        fields = _SEPARATOR.split(line)
        if "" in fields:
            raise DataFormatError(path, lineno, f"expected non-empty fields separated by "
                                                f"single spaces, got an empty field "
                                                f"{fields.index('') + 1} in {line!r}")
        if n_fields is None:
            n_fields = len(fields)
        if len(fields) != n_fields:
            raise DataFormatError(path, lineno, f"expected {n_fields} fields like the first "
                                                f"non-blank line, got {len(fields)}")
        if n_fields < 2:
            raise DataFormatError(path, lineno, f"expected at least 2 fields (word ... tag), "
                                                f"got {n_fields}")
        if fields[0] == DOCSTART:
            if words:
                raise DataFormatError(path, lineno, f"expected a blank line before "
                                                    f"{DOCSTART}, got it inside the sentence "
                                                    f"starting at line {first_line}")
            if started:
                doc_id += 1
            sent_index, started = 0, True
            continue
        tag = fields[-1]
        if not _TAG.fullmatch(tag):
            raise DataFormatError(path, lineno, f"expected a tag 'O' or B-/I-/E-/S- followed "
                                                f"by a type, got {tag!r}")
        if not words:
            first_line = lineno
        words.append(fields[0])
        orig.append(tag)
    flush()
    return examples


def tag_labels(examples, scheme=None):
    """The label vocabulary of some examples: ``"O"`` first, then the other tags sorted.

    Args:
        examples (list[dict]): as returned by ``read_conll`` (uses ``"tags"``).
        scheme (str | None): if ``"IOB1"``/``"IOB2"`` (prefixes B, I) or ``"BIOES"`` (B, I, E,
            S), every prefix is added for every type seen, so a tag absent from the training
            data (say ``S-MISC``) still has an id. ``None`` keeps only the tags seen.
    Returns:
        list[str]
    """
    prefixes = {"IOB1": "BI", "IOB2": "BI", "BIOES": "BIES", None: ""}
    if scheme not in prefixes:
        raise ValueError(f"tag_labels: expected scheme in ['IOB1', 'IOB2', 'BIOES', None], "
                         f"got {scheme!r}")
    seen = set()
    for i, example in enumerate(examples):
        if "tags" not in example:
            raise ValueError(f"tag_labels: expected examples with a 'tags' list, example {i} "
                             f"has keys {sorted(example)}")
        seen.update(example["tags"])
    kinds = {tag.partition("-")[2] for tag in seen if tag != "O"}
    seen.update(f"{p}-{kind}" for kind in kinds for p in prefixes[scheme])
    seen.discard("O")
    return ["O"] + sorted(seen)
