"""Entity tagging schemes (IOB1, IOB2, BIOES) and the conlleval chunk semantics behind them.

* IOB1 (Ramshaw & Marcus 1995, "Text Chunking using Transformation-Based Learning"; the tags of
  the original CoNLL-2003 files): ``I-X`` is inside an entity of type X, ``B-X`` is used only for
  the first token of an entity that directly follows another entity of the same type.
* IOB2 (Tjong Kim Sang & Veenstra 1999, "Representing Text Chunks", EACL): every entity starts
  with ``B-X``; later tokens are ``I-X``.
* BIOES (also IOBES; Ratinov & Roth 2009, "Design Challenges and Misconceptions in Named Entity
  Recognition"): ``B-X`` first, ``I-X`` middle, ``E-X`` last token, ``S-X`` single-token entity.

Which tokens form a chunk is decided exactly as conlleval.pl does (Tjong Kim Sang, the CoNLL-2000
and CoNLL-2003 scorer): ``chunk_end`` and ``chunk_start`` below are its ``endOfChunk`` and
``startOfChunk``, with the ``S``/``E`` cases of the widely used BIOES extension of that script
(``B-X`` and ``S-X`` always start a chunk, ``E-X`` and ``S-X`` always end one). On tags without
``E``/``S`` (IOB1, IOB2) the extension changes nothing. A tag is split at its first hyphen
(``B-MISC-X`` has prefix ``B`` and type ``MISC-X``), as conlleval has done since 2004.

Because every scheme is read with the same chunk rules, conversion is "read the spans, write
them in the other scheme". That makes ``convert_tags`` total (ill-formed input such as IOB2
``O I-PER`` still converts, the way conlleval would score it) and keeps the entity-level score of
a sequence unchanged by conversion.
"""

SCHEMES = ("IOB1", "IOB2", "BIOES")
_PREFIXES = {"IOB1": ("B", "I"), "IOB2": ("B", "I"), "BIOES": ("B", "I", "E", "S")}

# (previous prefix, current prefix) pairs from conlleval's endOfChunk / startOfChunk,
# including the S/E cases of the BIOES extension.
_END_PAIRS = frozenset([("B", "B"), ("B", "O"), ("B", "S"),
                        ("I", "B"), ("I", "O"), ("I", "S"),
                        ("E", "B"), ("E", "I"), ("E", "O"), ("E", "E"), ("E", "S"),
                        ("S", "B"), ("S", "I"), ("S", "O"), ("S", "E"), ("S", "S")])
_START_PAIRS = frozenset([("B", "B"), ("I", "B"), ("O", "B"), ("E", "B"), ("S", "B"),
                          ("B", "S"), ("I", "S"), ("O", "S"), ("E", "S"), ("S", "S"),
                          ("O", "I"), ("E", "I"), ("S", "I"),
                          ("O", "E"), ("E", "E"), ("S", "E")])


def split_tag(tag):
    """Split a tag at its first hyphen: ``"B-MISC"`` -> ``("B", "MISC")``,
    ``"O"`` -> ``("O", "")``."""
    prefix, sep, kind = tag.partition("-")
    return (prefix, kind) if sep else (tag, "")


def chunk_end(prev_prefix, prefix, prev_type, type_):
    """conlleval's ``endOfChunk``: did a chunk end between the previous and the current token?

    Args:
        prev_prefix (str), prefix (str): tag prefixes (``B``, ``I``, ``E``, ``S``, ``O``; also
            conlleval's ``[``, ``]`` and ``.``) of the previous and the current token.
        prev_type (str), type_ (str): their entity types (``""`` for ``O``).
    Returns:
        bool
    """
    if (prev_prefix, prefix) in _END_PAIRS:
        return True
    if prev_prefix not in ("O", ".") and prev_type != type_:
        return True
    return prev_prefix in ("[", "]")


def chunk_start(prev_prefix, prefix, prev_type, type_):
    """conlleval's ``startOfChunk``: did a chunk start at the current token? Arguments as
    in ``chunk_end``. Returns bool."""
    if (prev_prefix, prefix) in _START_PAIRS:
        return True
    if prefix not in ("O", ".") and prev_type != type_:
        return True
    return prefix in ("[", "]")


def _check_scheme(scheme, who):
    if scheme not in SCHEMES:
        raise ValueError(f"{who}: expected scheme in {list(SCHEMES)}, got {scheme!r}")


def _parse(tags, scheme):
    """Return ``[(prefix, type)]`` or the position and text of the first tag outside the
    scheme's alphabet (``O`` or an allowed prefix, a hyphen and a non-empty type)."""
    allowed = _PREFIXES[scheme]
    parsed = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, str):
            return None, (i, tag)
        prefix, kind = split_tag(tag)
        if tag != "O" and (prefix not in allowed or not kind):
            return None, (i, tag)
        parsed.append((prefix, kind))
    return parsed, None


def spans(tags, scheme):
    """The entity chunks of a tag sequence, found with conlleval's chunk rules.

    Args:
        tags (list[str]): one tag per token, from the scheme's alphabet: ``O`` or
            ``B-``/``I-`` (IOB1, IOB2) or ``B-``/``I-``/``E-``/``S-`` (BIOES) plus a type.
        scheme (str): ``"IOB1"``, ``"IOB2"`` or ``"BIOES"``. It fixes the alphabet only; the
            chunk rules are the same for all three, so ill-formed sequences are read the way
            conlleval reads them (``O I-PER`` starts a chunk, ``B-PER I-LOC`` is two chunks).
    Returns:
        list[tuple[str, int, int]]: ``(type, start, end_exclusive)`` in token order.
    """
    _check_scheme(scheme, "spans")
    parsed, bad = _parse(tags, scheme)
    if bad is not None:
        raise ValueError(f"spans: expected {scheme} tags ('O' or one of "
                         f"{'/'.join(p + '-' for p in _PREFIXES[scheme])} followed by a type), "
                         f"got {bad[1]!r} at position {bad[0]}")
    chunks = []
    open_start = None
    prev_prefix, prev_type = "O", ""
    for i, (prefix, kind) in enumerate(parsed + [("O", "")]):   # a final O closes the last chunk
        if open_start is not None and chunk_end(prev_prefix, prefix, prev_type, kind):
            chunks.append((parsed[open_start][1], open_start, i))
            open_start = None
        if i < len(parsed) and chunk_start(prev_prefix, prefix, prev_type, kind):
            open_start = i
        prev_prefix, prev_type = prefix, kind
    return chunks


def from_spans(chunks, length, scheme):
    """Write chunks as a tag sequence in ``scheme``; the inverse of ``spans`` on valid input.

    Args:
        chunks (list[tuple[str, int, int]]): ``(type, start, end_exclusive)``, sorted, not
            overlapping, non-empty, inside ``[0, length)``.
        length (int): number of tokens.
        scheme (str): ``"IOB1"``, ``"IOB2"`` or ``"BIOES"``.
    Returns:
        list[str]: ``length`` tags.
    """
    _check_scheme(scheme, "from_spans")
    tags = ["O"] * length
    prev_end, prev_type = -1, None
    for kind, start, end in chunks:
        if not (0 <= start < end <= length and start >= max(prev_end, 0) and kind):
            raise ValueError(f"from_spans: expected sorted, non-overlapping, non-empty typed "
                             f"chunks inside [0, {length}), got {(kind, start, end)!r}")
        for i in range(start, end):
            tags[i] = "I-" + kind
        if scheme == "IOB2" or (scheme == "IOB1" and prev_end == start and prev_type == kind):
            tags[start] = "B-" + kind
        elif scheme == "BIOES":
            if end - start == 1:
                tags[start] = "S-" + kind
            else:
                tags[start], tags[end - 1] = "B-" + kind, "E-" + kind
        prev_end, prev_type = end, kind
    return tags


def convert_tags(tags, src, dst):
    """Re-encode ``tags`` from scheme ``src`` to scheme ``dst`` (any of IOB1, IOB2, BIOES).

    Returns ``from_spans(spans(tags, src), len(tags), dst)``: the chunks conlleval sees are kept,
    so ill-formed input is repaired the way conlleval reads it.
    """
    _check_scheme(dst, "convert_tags")
    return from_spans(spans(tags, src), len(tags), dst)


def iob1_to_iob2(tags):
    """IOB1 -> IOB2: an ``I-X`` after ``O``, at the start, or after another type becomes ``B-X``."""
    return convert_tags(tags, "IOB1", "IOB2")


def iob2_to_bioes(tags):
    """IOB2 -> BIOES: single-token chunks become ``S-X``, the last token of longer ones ``E-X``."""
    return convert_tags(tags, "IOB2", "BIOES")


def bioes_to_iob2(tags):
    """BIOES -> IOB2: ``S-X`` becomes ``B-X``, ``E-X`` becomes ``I-X`` (chunks as conlleval
    reads them)."""
    return convert_tags(tags, "BIOES", "IOB2")


def is_valid(tags, scheme):
    """Whether ``tags`` is a well-formed sequence of ``scheme``.

    Well-formed means every tag is in the scheme's alphabet and the sequence is the one
    ``from_spans`` writes for its own chunks. Spelled out: IOB2 needs every ``I-X`` to follow
    ``B-X``/``I-X``; IOB1 also needs every ``B-X`` to follow ``B-X``/``I-X`` (B only between two
    adjacent entities of one type); BIOES needs ``I-X``/``E-X`` to follow ``B-X``/``I-X`` and
    ``B-X``/``I-X`` to be followed by ``I-X``/``E-X``.
    """
    _check_scheme(scheme, "is_valid")
    parsed, bad = _parse(tags, scheme)
    if bad is not None:
        return False
    return from_spans(spans(tags, scheme), len(tags), scheme) == list(tags)
