"""Tagging features: sentences as windows of word pieces, with document context.

A sentence that fits ``max_seq_len`` is one window, optionally surrounded by the neighbouring
sentences of its document as unlabelled context (``context="document"``, how BERT reached
92.4 on CoNLL-2003, Devlin et al. 2019); a longer sentence is cut into overlapping windows of
whole words (``data/windows.py``) and each word takes its prediction from the window where it
has the most context. No word is ever dropped. The model scores the first word piece of each
labelled word (``word_index``).
"""
from ernie_res.data.windows import effective_lengths, plan_windows


def word_pieces(tokenizer, words):
    """Word-piece ids of each word; a word with no piece still gets one ``[UNK]`` slot."""
    unk = tokenizer.unk_token_id
    out = []
    for w in words:
        ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(w))
        out.append(ids or [unk])
    return out


def context_pieces(examples, pieces, i, room):
    """Word pieces of the sentences around sentence ``i`` in the same document, at most
    ``room`` in all, split as evenly as the neighbours allow: ``(left, right)``."""
    doc = examples[i].get("doc_id")
    before, after = [], []
    j = i - 1
    while j >= 0 and examples[j].get("doc_id") == doc and len(before) < room:
        before = [t for p in pieces[j] for t in p] + before
        j -= 1
    j = i + 1
    while j < len(examples) and examples[j].get("doc_id") == doc and len(after) < room:
        after += [t for p in pieces[j] for t in p]
        j += 1
    take_left = min(len(before), room // 2)
    take_right = min(len(after), room - take_left)
    take_left = min(len(before), room - take_right)
    return before[len(before) - take_left:], after[:take_right]


def window_features(examples, tokenizer, tag_index, max_seq_len, stride_words=0,
                    context="document"):
    """Features of every window of every sentence.

    Args:
        examples (list[dict]): ``{"id", "words", "tags"?, "doc_id"?}`` in document order.
        tokenizer: a PaddleNLP tokenizer.
        tag_index (dict): tag -> id; every gold tag must be in it.
        max_seq_len (int): pieces per window, ``[CLS]`` and ``[SEP]`` included.
        stride_words (int): words between window starts of a long sentence (0 = half a
            window).
        context (str): ``"document"`` or ``"none"``.

    Returns:
        tuple: ``(features, n_split)``: one dict per window (``input_ids``, ``word_index``,
        ``labels`` (0 without gold tags), ``index`` of the sentence, ``n_words``, ``offset``
        of its first word, ``score`` range) and the number of sentences that needed more
        than one window.

    Raises:
        ValueError: a gold tag that is not in ``tag_index``.
    """
    budget = max_seq_len - 2
    pieces = [word_pieces(tokenizer, e["words"]) for e in examples]
    feats, n_split = [], 0
    for i, ex in enumerate(examples):
        lengths = effective_lengths([len(p) for p in pieces[i]], budget)
        kept = [p[:n] for p, n in zip(pieces[i], lengths)]
        windows = plan_windows(lengths, budget, stride_words or None)
        n_split += len(windows) > 1
        tags = ex.get("tags")
        for w in windows:
            if w.end == w.start:      # an empty line of raw text: nothing to tag
                continue
            centre = [t for p in kept[w.start:w.end] for t in p]
            left, right = [], []
            if context == "document" and len(windows) == 1:
                left, right = context_pieces(examples, pieces, i, budget - len(centre))
            ids = [tokenizer.cls_token_id] + left + centre + right + [tokenizer.sep_token_id]
            pos, word_index = 1 + len(left), []
            for p in kept[w.start:w.end]:
                word_index.append(pos)
                pos += len(p)
            if tags:
                unknown = [t for t in tags[w.start:w.end] if t not in tag_index]
                if unknown:
                    raise ValueError(f"SEQ: {ex['id']} has tag {unknown[0]!r}, which is not "
                                     f"among the training tags {list(tag_index)}")
                labels = [tag_index[t] for t in tags[w.start:w.end]]
            else:
                labels = [0] * len(word_index)
            feats.append({"input_ids": ids, "word_index": word_index, "labels": labels,
                          "index": i, "n_words": len(ex["words"]), "offset": w.start,
                          "score": (w.score_start - w.start, w.score_end - w.start)})
    return feats, n_split
