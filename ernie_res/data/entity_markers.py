"""Entity markers for relation classification, and a token window that never cuts an entity.

The relation model reads a sentence in which the two entities are wrapped in marker tokens,
``... [E1] audits [/E1] were about [E2] waste [/E2] ...``: the "entity markers" input of
Baldini Soares et al. 2019 ("Matching the Blanks: Distributional Similarity for Relation
Learning", ENTITY MARKERS variant), also used by R-BERT (Wu & He 2019, "Enriching Pre-trained
Language Model with Entity Information for Relation Classification", with ``$``/``#``).

Entities arrive in one of two forms, both turned into ``(text, e1_span, e2_span)`` with
character spans ``[start, end)`` into the plain text:

* inline markup as in SemEval-2010 Task 8, ``<e1>audits</e1> ... <e2>waste</e2>``
  (``parse_marked``);
* JSONL records ``{"text": ..., "e1": [s, e], "e2": [s, e]}`` (``validate_spans``).

Everything here is tokenizer-agnostic pure Python. The featuriser must make the tokenizer keep
each marker string whole (add them as special tokens); ``insert_markers`` only guarantees that
each marker is surrounded by whitespace.

``entity_safe_window`` picks which tokens of a long sentence go to the encoder. It works on
token indices, so it applies after tokenisation: pass the token spans of both entities
*including* their markers.
"""
import re

DEFAULT_MARKERS = ("[E1]", "[/E1]", "[E2]", "[/E2]")
_TAG = re.compile(r"<(/?)e(\d+)>")


def _short(text, limit=80):
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


def parse_marked(text):
    """Remove ``<e1>…</e1>`` and ``<e2>…</e2>`` markup and return the entity spans.

    Args:
        text (str): a sentence with exactly one ``<e1>``, ``</e1>``, ``<e2>`` and ``</e2>``.
    Returns:
        tuple[str, tuple[int, int], tuple[int, int]]: ``(plain_text, e1, e2)``, the text with the
        four tags removed (nothing else changes) and the ``[start, end)`` character spans of
        both entities in it.
    Raises:
        ValueError: a tag that is missing, duplicated or unknown (``<e3>``), a closing tag before
            its opening tag, an entity inside or overlapping the other, or an empty entity.
    """
    if not isinstance(text, str):
        raise ValueError(f"parse_marked: expected a str, got {type(text).__name__}")
    tags = []                    # (tag, position in the plain text)
    pieces = []
    plain_len = 0
    last = 0
    for m in _TAG.finditer(text):
        tag = m.group(0)
        if m.group(2) not in ("1", "2"):
            raise ValueError(f"parse_marked: expected only <e1>, </e1>, <e2>, </e2> tags, "
                             f"got {tag!r} in {_short(text)}")
        pieces.append(text[last:m.start()])
        plain_len += m.start() - last
        last = m.end()
        tags.append((tag, plain_len))
    pieces.append(text[last:])
    plain = "".join(pieces)
    names = [t for t, _ in tags]
    for tag in ("<e1>", "</e1>", "<e2>", "</e2>"):
        if names.count(tag) != 1:
            raise ValueError(f"parse_marked: expected exactly one {tag}, got "
                             f"{names.count(tag)} in {_short(text)}")
    pos = {t: (i, p) for i, (t, p) in enumerate(tags)}
    spans = {}
    for k in ("1", "2"):
        (i_open, start), (i_close, end) = pos[f"<e{k}>"], pos[f"</e{k}>"]
        if i_close < i_open:
            raise ValueError(f"parse_marked: expected </e{k}> after <e{k}>, got it before in "
                             f"{_short(text)}")
        if end == start:
            raise ValueError(f"parse_marked: expected a non-empty e{k}, got <e{k}></e{k}> in "
                             f"{_short(text)}")
        spans[k] = (i_open, i_close, start, end)
    (o1, c1, s1, e1), (o2, c2, s2, e2) = spans["1"], spans["2"]
    if not (c1 < o2 or c2 < o1):   # the tag order must be <a></a><b></b>
        raise ValueError(f"parse_marked: expected e1 and e2 not nested or overlapping, got tags "
                         f"in the order {' '.join(names)} in {_short(text)}")
    return plain, (s1, e1), (s2, e2)


def _check_span(fn, name, span, limit, text=None):
    ok = (isinstance(span, (list, tuple)) and len(span) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) for v in span))
    if not ok or not 0 <= span[0] < span[1] <= limit:
        raise ValueError(f"{fn}: expected {name} as [start, end) with 0 <= start < end <= "
                         f"{limit}, got {span!r}")
    if text is not None and not text[span[0]:span[1]].strip():
        raise ValueError(f"{fn}: expected {name} to cover some non-space text, got "
                         f"{text[span[0]:span[1]]!r} at {list(span)}")
    return int(span[0]), int(span[1])


def validate_spans(text, e1, e2):
    """Check the character spans of a JSONL relation example.

    Args:
        text (str): the sentence.
        e1, e2 (list[int]): ``[start, end)`` character spans of the two entities.
    Returns:
        tuple[tuple[int, int], tuple[int, int]]: both spans as tuples.
    Raises:
        ValueError: a span that is not two ints, out of range, empty or only whitespace, or
            the two spans overlapping.
    """
    if not isinstance(text, str):
        raise ValueError(f"validate_spans: expected text a str, got {type(text).__name__}")
    s1 = _check_span("validate_spans", "e1", e1, len(text), text)
    s2 = _check_span("validate_spans", "e2", e2, len(text), text)
    if s1[0] < s2[1] and s2[0] < s1[1]:
        raise ValueError(f"validate_spans: expected non-overlapping e1 and e2, got "
                         f"{list(s1)} and {list(s2)}")
    return s1, s2


def insert_markers_spans(text, e1, e2, markers=DEFAULT_MARKERS):
    """``insert_markers`` that also returns where the marked entities ended up.

    Returns:
        tuple[str, tuple[int, int], tuple[int, int]]: the marked text and, for e1 and e2, the
        ``[start, end)`` character span from the first character of the opening marker to the
        last character of the closing marker.
    """
    if (not isinstance(markers, (list, tuple)) or len(markers) != 4
            or not all(isinstance(m, str) and m.strip() == m and m for m in markers)):
        raise ValueError(f"insert_markers: expected 4 non-empty marker strings without "
                         f"surrounding spaces, got {markers!r}")
    s1, s2 = validate_spans(text, e1, e2)
    # Insertion points in text order: (position, marker, entity, is_open).
    cuts = sorted([(s1[0], markers[0], 1, True), (s1[1], markers[1], 1, False),
                   (s2[0], markers[2], 2, True), (s2[1], markers[3], 2, False)],
                  key=lambda c: (c[0], c[3]))     # at a shared position, close before open
    out, last, marked = [], 0, {}
    length, tail_char = 0, ""               # length of "".join(out) and its last character

    def emit(piece):
        nonlocal length, tail_char
        if piece:
            out.append(piece)
            length += len(piece)
            tail_char = piece[-1]

    for pos, marker, ent, is_open in cuts:
        emit(text[last:pos])
        if length and not tail_char.isspace():
            emit(" ")
        if is_open:
            marked[ent] = length
        emit(marker)
        if not is_open:
            marked[ent] = (marked[ent], length)
        if not text[pos:pos + 1].isspace():    # also at the end of the text; trimmed below
            emit(" ")
        last = pos
    emit(text[last:])
    marked_text = "".join(out)
    if last == len(text):
        marked_text = marked_text[:-1]         # the space added after a final marker
    return marked_text, marked[1], marked[2]


def insert_markers(text, e1, e2, markers=DEFAULT_MARKERS):
    """Wrap both entities in marker strings, each marker separated from its neighbours by spaces.

    ``"The audits were about waste."`` with e1 = "audits", e2 = "waste" gives
    ``"The [E1] audits [/E1] were about [E2] waste [/E2] ."``. A space is added next to a
    marker only where there is no whitespace already, and never at the start or end of the
    text. e2 may come before e1 in the text.

    Args:
        text (str): the plain sentence.
        e1, e2 (list[int]): ``[start, end)`` character spans, checked by ``validate_spans``.
        markers (tuple[str]): ``(e1_open, e1_close, e2_open, e2_close)``.
    Returns:
        str
    """
    return insert_markers_spans(text, e1, e2, markers)[0]


def _check_int(fn, name, value, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{fn}: expected {name} an int >= {low}, got {value!r}")


def entity_safe_window(n_tokens, e1_tok_span, e2_tok_span, max_tokens, squeeze=False):
    """Choose at most ``max_tokens`` of ``n_tokens`` tokens so that both entities stay whole.

    Let ``lo``/``hi`` be the first start and the last end of the two entity spans. When the
    sentence fits (``n_tokens <= max_tokens``) every token is kept. Otherwise the window is
    ``[lo - left, hi + right)`` with ``left + right = max_tokens - (hi - lo)`` split evenly
    (``left = budget // 2``, so an odd token goes to the right); a side that reaches the edge of
    the sentence gives its unused share to the other side. The window then has exactly
    ``max_tokens`` tokens and the two context margins are as equal as the sentence allows.

    When the entities are too far apart (``hi - lo > max_tokens``) no window can hold both:
    by default this raises. With ``squeeze=True`` the tokens *between* the entities are thinned
    instead: both entity spans are kept whole, no context outside ``[lo, hi)`` is kept, and of
    the gap between the entities only the ``k = max_tokens - len(e_first) - len(e_second)``
    tokens nearest the entities survive (``k // 2`` right after the first entity, the rest
    right before the second). We chose to keep context next to the entities, where the
    relation is usually expressed, over context at the far ends.

    Args:
        n_tokens (int): tokens in the sentence (without ``[CLS]``/``[SEP]``).
        e1_tok_span, e2_tok_span (list[int]): ``[start, end)`` token spans of both entities,
            markers included; they may overlap.
        max_tokens (int): the budget, ``>= 1``.
        squeeze (bool): see above.
    Returns:
        tuple[int, int]: ``(start, end)`` of the window when ``squeeze`` is False.
        list[int]: the kept token indices, increasing, when ``squeeze`` is True (always a list
        in that mode, contiguous whenever a window fits).
    Raises:
        ValueError: bad arguments; entities farther apart than ``max_tokens`` without
            ``squeeze``; both entities together longer than ``max_tokens`` with ``squeeze``.
    """
    fn = "entity_safe_window"
    _check_int(fn, "n_tokens", n_tokens, 0)
    _check_int(fn, "max_tokens", max_tokens, 1)
    s1 = _check_span(fn, "e1_tok_span", e1_tok_span, n_tokens)
    s2 = _check_span(fn, "e2_tok_span", e2_tok_span, n_tokens)
    lo, hi = min(s1[0], s2[0]), max(s1[1], s2[1])
    need = hi - lo
    if n_tokens <= max_tokens:
        start, end = 0, n_tokens
    elif need <= max_tokens:
        budget = max_tokens - need
        left, right = budget // 2, budget - budget // 2
        if left > lo:                        # not enough room on the left: give it to the right
            left, right = lo, right + left - lo
        if right > n_tokens - hi:            # not enough room on the right: give it to the left
            left, right = left + right - (n_tokens - hi), n_tokens - hi
        start, end = lo - left, hi + right
    elif not squeeze:
        raise ValueError(f"{fn}: expected both entities within max_tokens={max_tokens} tokens, "
                         f"got {need} tokens from the start of the first (token {lo}) to the "
                         f"end of the last (token {hi}); pass squeeze=True to drop tokens "
                         f"between them")
    else:
        first, second = sorted([s1, s2])
        if first[1] > second[0]:             # overlapping spans: their union is [lo, hi)
            raise ValueError(f"{fn}: expected overlapping entities to fit max_tokens="
                             f"{max_tokens}, got {need} tokens from token {lo} to {hi}")
        keep_gap = max_tokens - (first[1] - first[0]) - (second[1] - second[0])
        if keep_gap < 0:
            raise ValueError(f"{fn}: expected the two entities to fit max_tokens={max_tokens} "
                             f"even with squeeze=True, got {first[1] - first[0]} + "
                             f"{second[1] - second[0]} tokens")
        after_first = keep_gap // 2
        before_second = keep_gap - after_first
        return (list(range(first[0], first[1] + after_first))
                + list(range(second[0] - before_second, second[1])))
    return list(range(start, end)) if squeeze else (start, end)


def reindex_span(kept, span):
    """Where a token span lands after keeping only the tokens ``kept``.

    Args:
        kept (list[int] | tuple[int, int]): increasing kept indices (``entity_safe_window`` with
            ``squeeze=True``) or a ``(start, end)`` window.
        span (list[int]): a ``[start, end)`` token span that is entirely kept.
    Returns:
        tuple[int, int]: the span in the kept sequence.
    Raises:
        ValueError: some token of ``span`` was dropped.
    """
    if isinstance(kept, tuple) and len(kept) == 2:
        kept = range(kept[0], kept[1])
    where = {idx: i for i, idx in enumerate(kept)}
    s, e = span
    if e <= s or any(t not in where for t in range(s, e)):
        raise ValueError(f"reindex_span: expected a non-empty span whose tokens are all kept, "
                         f"got {list(span)}")
    return where[s], where[e - 1] + 1
