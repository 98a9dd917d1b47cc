"""A sentence with two entities as the word pieces the relation model reads.

``[CLS] ... [E1] e1 pieces [/E1] ... [E2] e2 pieces [/E2] ... [SEP]``: the marker strings are
inserted around the character spans (``insert_markers_spans``), the text between markers is
tokenised, and each marker becomes its own token id (the tokenizer must have them as special
tokens). Truncation never cuts an entity: when the marked sentence is longer than the budget,
``entity_safe_window(..., squeeze=True)`` keeps both entities with their markers, thinning the
tokens between them only when they are farther apart than the budget.
"""
from ernie_res.data.entity_markers import entity_safe_window, insert_markers_spans, reindex_span


def encode_marked(tokenizer, text, e1, e2, markers, marker_ids, max_seq_len):
    """Marked word pieces of one example.

    Args:
        tokenizer: a PaddleNLP tokenizer that keeps each marker whole.
        text (str): the plain sentence.
        e1, e2 (tuple[int, int]): character spans ``[start, end)`` of the entities.
        markers (tuple[str]): ``(start e1, end e1, start e2, end e2)`` marker strings.
        marker_ids (list[int]): their token ids.
        max_seq_len (int): pieces allowed, ``[CLS]`` and ``[SEP]`` included.

    Returns:
        tuple: ``(input_ids, e1_span, e2_span, truncated)``: ``[CLS] ... [SEP]`` ids and the
        positions (start marker, end marker) of each entity in them.

    Raises:
        ValueError: bad spans, or the two entities alone longer than the budget.
    """
    marked, m1, m2 = insert_markers_spans(text, e1, e2, markers)
    cuts = sorted([(m1[0], 0), (m1[1] - len(markers[1]), 1),
                   (m2[0], 2), (m2[1] - len(markers[3]), 3)])
    ids, where, last = [], {}, 0
    for pos, k in cuts:              # tokenise the text between markers, insert marker ids
        ids += tokenizer.convert_tokens_to_ids(tokenizer.tokenize(marked[last:pos])) \
            if pos > last else []
        where[k] = len(ids)
        ids.append(marker_ids[k])
        last = pos + len(markers[k])
    ids += tokenizer.convert_tokens_to_ids(tokenizer.tokenize(marked[last:])) \
        if last < len(marked) else []
    s1, s2 = (where[0], where[1] + 1), (where[2], where[3] + 1)
    budget = max_seq_len - 2
    truncated = len(ids) > budget
    if truncated:
        try:
            kept = entity_safe_window(len(ids), s1, s2, budget, squeeze=True)
        except ValueError as err:
            raise ValueError(f"{err}; raise Data.max_seq_len (now {max_seq_len})") from None
        ids = [ids[k] for k in kept]
        s1, s2 = reindex_span(kept, s1), reindex_span(kept, s2)
    ids = [tokenizer.cls_token_id] + ids + [tokenizer.sep_token_id]
    return ids, (s1[0] + 1, s1[1]), (s2[0] + 1, s2[1]), truncated
