"""Entity-level precision, recall and F1 with the exact semantics of conlleval.pl.

conlleval.pl is Erik Tjong Kim Sang's scorer for the CoNLL-2000 chunking and CoNLL-2002/2003 NER
shared tasks (Tjong Kim Sang & De Meulder 2003, "Introduction to the CoNLL-2003 Shared Task").
This is an independent re-implementation of its counting:

* a chunk starts and ends where ``ernie_res.data.tagging.chunk_start``/``chunk_end`` say
  (conlleval's startOfChunk/endOfChunk, with the BIOES ``S``/``E`` extension; identical to the
  original script on IOB1/IOB2 tags);
* a predicted chunk is correct when a gold chunk starts at the same token with the same type and
  both end at the same token (conlleval's ``inCorrect`` state machine);
* precision = correct / predicted chunks, recall = correct / gold chunks, both 0 when their
  denominator is 0; F1 = 2PR / (P + R), 0 when P + R = 0; all in percent;
* token accuracy counts tokens whose whole tag (prefix and type) is right.

Sentences are scored independently: the end of a sentence closes every open chunk, as the blank
line between sentences does in conlleval. Tags are not checked against a scheme (conlleval
accepts anything), so IOB1, IOB2 and BIOES sequences, even ill-formed ones, can be scored as is.
"""
from collections import Counter

from ernie_res.data.errors import DataFormatError
from ernie_res.data.tagging import chunk_end, chunk_start, split_tag
from ernie_res.metrics.base import Metric


class ConllEvalMetric(Metric):
    """Accumulates conlleval counts over sentences.

    ``accumulate()`` returns ``precision``, ``recall``, ``f1``, ``accuracy`` (percent) and
    ``f1_<TYPE>`` for every entity type seen in the gold or predicted tags.
    """
    main_key = "f1"

    def __init__(self):
        self.reset()

    def reset(self):
        self.correct_chunks = Counter()   # type -> chunks predicted exactly right
        self.gold_chunks = Counter()      # type -> chunks in the gold tags
        self.pred_chunks = Counter()      # type -> chunks in the predicted tags
        self.correct_tags = 0
        self.tokens = 0

    def update(self, pred_tag_seqs, gold_tag_seqs):
        """Score a batch of sentences.

        Args:
            pred_tag_seqs (list[list[str]]): predicted tags, one list per sentence.
            gold_tag_seqs (list[list[str]]): gold tags, same number of sentences and, sentence
                by sentence, the same number of tags.
        """
        if len(pred_tag_seqs) != len(gold_tag_seqs):
            raise ValueError(f"ConllEvalMetric: expected as many predicted as gold sentences, "
                             f"got {len(pred_tag_seqs)} and {len(gold_tag_seqs)}")
        for index, (pred, gold) in enumerate(zip(pred_tag_seqs, gold_tag_seqs)):
            if len(pred) != len(gold):
                raise ValueError(f"ConllEvalMetric: sentence {index}: expected {len(gold)} "
                                 f"predicted tags (one per gold tag), got {len(pred)}")
            for tag in list(pred) + list(gold):
                if not isinstance(tag, str):
                    raise ValueError(f"ConllEvalMetric: sentence {index}: expected str tags, "
                                     f"got {tag!r}")
        for pred, gold in zip(pred_tag_seqs, gold_tag_seqs):
            self._score_sentence(pred, gold)

    def _score_sentence(self, pred, gold):
        last_c, last_ct, last_g, last_gt = "O", "", "O", ""
        in_correct = False   # the gold and the predicted chunk started together and still agree
        n = len(gold)
        for i in range(n + 1):
            if i < n:
                c, ct = split_tag(gold[i])
                g, gt = split_tag(pred[i])
            else:   # the sentence boundary: an O/O token that is not counted
                c, ct, g, gt = "O", "", "O", ""
            end_c = chunk_end(last_c, c, last_ct, ct)
            end_g = chunk_end(last_g, g, last_gt, gt)
            if in_correct:
                if end_c and end_g and last_gt == last_ct:
                    in_correct = False
                    self.correct_chunks[last_ct] += 1
                elif end_c != end_g or gt != ct:
                    in_correct = False
            start_c = chunk_start(last_c, c, last_ct, ct)
            start_g = chunk_start(last_g, g, last_gt, gt)
            if start_c and start_g and gt == ct:
                in_correct = True
            if start_c:
                self.gold_chunks[ct] += 1
            if start_g:
                self.pred_chunks[gt] += 1
            if i < n:
                self.tokens += 1
                self.correct_tags += int(c == g and ct == gt)
                last_c, last_ct, last_g, last_gt = c, ct, g, gt
        if in_correct:   # only conlleval's "." continuation tags keep a chunk open this far;
            self.correct_chunks[last_ct] += 1   # conlleval counts it as at the end of its input

    @staticmethod
    def _prf(correct, predicted, gold):
        p = 100.0 * correct / predicted if predicted > 0 else 0.0
        r = 100.0 * correct / gold if gold > 0 else 0.0
        f = 2 * p * r / (p + r) if p + r > 0 else 0.0
        return p, r, f

    def types(self):
        """Sorted entity types seen in gold or predicted chunks (conlleval's order)."""
        return sorted(set(self.gold_chunks) | set(self.pred_chunks))

    def accumulate(self):
        p, r, f = self._prf(sum(self.correct_chunks.values()), sum(self.pred_chunks.values()),
                            sum(self.gold_chunks.values()))
        acc = 100.0 * self.correct_tags / self.tokens if self.tokens else 0.0
        result = {"precision": p, "recall": r, "f1": f, "accuracy": acc}
        for kind in self.types():
            if kind:   # typeless chunks (tags like "B") are in report() only
                result[f"f1_{kind}"] = self._prf(self.correct_chunks[kind],
                                                 self.pred_chunks[kind],
                                                 self.gold_chunks[kind])[2]
        return result

    def report(self):
        """conlleval's text output: totals, overall scores, then one line per type ending with
        the number of predicted chunks of that type."""
        correct = sum(self.correct_chunks.values())
        found_g = sum(self.pred_chunks.values())
        found_c = sum(self.gold_chunks.values())
        lines = [f"processed {self.tokens} tokens with {found_c} phrases; "
                 f"found: {found_g} phrases; correct: {correct}."]
        if self.tokens > 0:
            m = self.accumulate()
            lines.append(f"accuracy: {m['accuracy']:6.2f}%; precision: {m['precision']:6.2f}%; "
                         f"recall: {m['recall']:6.2f}%; FB1: {m['f1']:6.2f}")
        for kind in self.types():
            p, r, f = self._prf(self.correct_chunks[kind], self.pred_chunks[kind],
                                self.gold_chunks[kind])
            lines.append(f"{kind:>17}: precision: {p:6.2f}%; recall: {r:6.2f}%; "
                         f"FB1: {f:6.2f}  {self.pred_chunks[kind]}")
        return "\n".join(lines)


class WindowedConllMetric(ConllEvalMetric):
    """conlleval over whole sentences assembled from window predictions (tag ids).

    A long sentence is tagged in several overlapping windows; each window contributes the
    words of its scoring range (``add_window``), and a sentence is scored once all of its
    words have a prediction (at ``accumulate``/``report``). ``accumulate`` adds per-type
    ``precision_<TYPE>`` and ``recall_<TYPE>`` to the keys of ``ConllEvalMetric``.

    Args:
        labels (list[str]): tag of each id.
    """

    def __init__(self, labels):
        self.labels = list(labels)
        super().__init__()

    def reset(self):
        super().reset()
        self._pred, self._gold = {}, {}   # sentence index -> tags, not yet scored
        self._scored = {}                 # sentence index -> predicted tags, scored

    def add_window(self, index, n_words, offset, score, pred_ids, gold_ids):
        """Add one window's predictions.

        Args:
            index (int): the sentence's index.
            n_words (int): words in the whole sentence.
            offset (int): position of the window's first word in the sentence.
            score (tuple[int, int]): ``[start, end)`` of the window's words this window
                decides, relative to the window.
            pred_ids, gold_ids (array): int ``[W]`` tag ids of the window's words.
        """
        pred = self._pred.setdefault(index, [None] * n_words)
        gold = self._gold.setdefault(index, [None] * n_words)
        for j in range(score[0], score[1]):
            pred[offset + j] = self.labels[pred_ids[j]]
            gold[offset + j] = self.labels[gold_ids[j]]

    def predicted_tags(self, index):
        """The predicted tags of sentence ``index`` (``[]`` if no window of it was added)."""
        if index in self._pred:
            return list(self._pred[index])
        return list(self._scored.get(index, []))

    def sentences(self):
        """Sorted indices of every sentence with a prediction."""
        return sorted(set(self._pred) | set(self._scored))

    def _flush(self):
        if self._pred:
            keys = sorted(self._pred)
            missing = [k for k in keys if None in self._pred[k]]
            assert not missing, f"sentences {missing[:5]} have words without a prediction"
            super().update([self._pred[k] for k in keys], [self._gold[k] for k in keys])
            self._scored.update(self._pred)
            self._pred, self._gold = {}, {}

    def accumulate(self):
        self._flush()
        out = super().accumulate()
        for kind in self.types():
            if kind:
                p, r, _ = self._prf(self.correct_chunks[kind], self.pred_chunks[kind],
                                    self.gold_chunks[kind])
                out[f"precision_{kind}"], out[f"recall_{kind}"] = p, r
        return out

    def report(self):
        self._flush()
        return super().report()


def conlleval_lines(lines, path="<lines>"):
    """Score text in conlleval's input format.

    Each token line holds whitespace-separated fields whose last two are the gold and the
    predicted tag (``word ... gold pred``); every token line has as many fields as the first.
    A blank line, or a line whose first field is ``-X-``, separates sentences. As in conlleval,
    any other line is a token, ``-DOCSTART-`` lines included (they count towards accuracy).

    Args:
        lines (Iterable[str]): the lines, e.g. an open file.
        path (str): the name used in error messages.
    Returns:
        ConllEvalMetric: filled; call ``accumulate()`` or ``report()``.
    Raises:
        DataFormatError: a line with fewer than 2 fields or another field count than the first.
    """
    metric = ConllEvalMetric()
    n_fields = None
    gold, pred = [], []
    for lineno, line in enumerate(lines, 1):
        fields = line.split()
        if fields:
            if n_fields is None:
                n_fields = len(fields)
            if len(fields) != n_fields:
                raise DataFormatError(path, lineno, f"expected {n_fields} fields like the first "
                                                    f"token line, got {len(fields)}")
            if len(fields) < 2:
                raise DataFormatError(path, lineno, f"expected at least 2 fields (... gold "
                                                    f"predicted), got {len(fields)}")
        if not fields or fields[0] == "-X-":
            if gold:
                metric.update([pred], [gold])
            gold, pred = [], []
            continue
        gold.append(fields[-2])
        pred.append(fields[-1])
    if gold:
        metric.update([pred], [gold])
    return metric
