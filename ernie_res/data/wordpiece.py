"""A standard-library WordPiece tokenizer that gives PaddleNLP's ``ErnieTokenizer`` ids.

Why it exists: the inference path (a Paddle Inference predictor over an exported model) has to
start in a few seconds, and ``import paddlenlp`` alone takes 4-6 s. Everything the tasks ask of
a tokenizer (``tokenize``, the id conversions, the special-token ids, ``len``) is plain string
work over ``vocab.txt``, so this module redoes it without importing paddle or paddlenlp.

``load_tokenizer(directory)`` reads what ``tokenizer.save_pretrained(directory)`` wrote
(``vocab.txt``, ``tokenizer_config.json``, ``special_tokens_map.json`` and, from older
writers, ``added_tokens.json``) the way ``AutoTokenizer.from_pretrained`` does, REL's entity
markers (``models.backbone.add_marker_tokens`` makes them additional special tokens) included.
It accepts only the classes it reproduces (``SUPPORTED_CLASSES``); for any other it raises
``ValueError`` so the caller can fall back to PaddleNLP.

The steps, each as PaddleNLP 3.0 does them (``tests/data/test_wordpiece.py`` checks the ids
against PaddleNLP's own tokenizer, string for string, over a randomised corpus):

1. with ``do_lower_case``, lower-case the text one character at a time (so no final-sigma
   rule) except where a no-split or special token occurs (the first listed token that matches
   at a position wins, not the longest);
2. cut the text around the no-split tokens (the special tokens and the added ones) with
   PaddleNLP's greedy trie scan, quirks included; a cut-out token eats the whitespace on both
   sides (an ``AddedToken`` special token only on the sides its ``lstrip``/``rstrip`` say);
3. basic tokenisation of the rest: drop NUL, U+FFFD and control characters (category C*,
   but tab, CR and LF are whitespace), map whitespace (category Zs) to spaces, put spaces
   around CJK ideographs, split on whitespace, lower-case and strip accents (NFD, drop Mn)
   per word, and split off every punctuation (ASCII non-alphanumerics, category P*) and
   symbol (category S*, plus a few listed code points) character;
4. WordPiece: greedy longest match first against ``vocab.txt``, continuations prefixed
   ``##``; a word with an unmatched rest, or longer than ``MAX_CHARS_PER_WORD`` characters,
   becomes the unknown token.
"""
import json
import os
import unicodedata
from pathlib import Path

#: the ``tokenizer_config.json`` ``tokenizer_class`` values this module reproduces
SUPPORTED_CLASSES = ("ErnieTokenizer", "BertTokenizer")
#: the special-token attributes, in PaddleNLP's order (``all_special_tokens`` follows it)
SPECIAL_ATTRIBUTES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                      "cls_token", "mask_token", "additional_special_tokens")
#: a longer word is one unknown token (PaddleNLP's ``max_input_chars_per_word``)
MAX_CHARS_PER_WORD = 100
#: the options only ``BertTokenizer`` reads; ``ErnieTokenizer`` ignores them
BERT_OPTIONS = ("do_basic_tokenize", "never_split", "tokenize_chinese_chars", "strip_accents")

_END = ""                     # trie key: a token ends here
_SYMBOL_EXTRA = frozenset("\u00ad\u00b2\u00ba\u3007\u00b5\u00d8\u014b\u01b1")
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


class AddedToken:
    """A special token with whitespace options, as ``special_tokens_map.json`` may store one.

    Where the text is cut around it, ``lstrip`` removes the whitespace on its left and
    ``rstrip`` the whitespace on its right (a plain-string special token removes both).
    """

    __slots__ = ("content", "lstrip", "rstrip")

    def __init__(self, content, lstrip=False, rstrip=False):
        if not isinstance(content, str):
            raise ValueError(f"a token must be a string, got {content!r}")
        self.content, self.lstrip, self.rstrip = content, bool(lstrip), bool(rstrip)

    @classmethod
    def from_dict(cls, d):
        """From a saved dict (``content``, ``lstrip``, ``rstrip``; other keys do not matter)."""
        if "content" not in d:
            raise ValueError(f"a saved token has no 'content': {d!r}")
        return cls(d["content"], d.get("lstrip", False), d.get("rstrip", False))

    def __str__(self):
        return self.content

    def __repr__(self):
        return f"AddedToken({self.content!r}, lstrip={self.lstrip}, rstrip={self.rstrip})"


# -- character classes (PaddleNLP's definitions)
def _is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch):
    return ch not in "\t\n\r" and unicodedata.category(ch)[0] == "C"


def _is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch)[0] == "P"


def _is_symbol(ch):
    return ch in _SYMBOL_EXTRA or unicodedata.category(ch)[0] == "S"


def _is_cjk(cp):
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _lower_each(s):
    """``s`` lower-cased one character at a time: Python's whole-string ``lower`` turns a
    word-final capital sigma into the final form, the character-wise pass does not."""
    return s.lower() if "\u03a3" not in s else "".join(c.lower() for c in s)


def _strip_accents(word):
    return "".join(c for c in unicodedata.normalize("NFD", word)
                   if unicodedata.category(c) != "Mn")


def _split_punctuation(word, never_split):
    if word in never_split:
        return [word]
    out, run = [], []
    for ch in word:
        if _is_punctuation(ch) or _is_symbol(ch):
            if run:
                out.append("".join(run))
                run = []
            out.append(ch)
        else:
            run.append(ch)
    if run:
        out.append("".join(run))
    return out


# -- the no-split tokens: the lower-casing pass and the trie cut
def _lower_outside(text, first_char_index):
    """Lower-case ``text`` except the occurrences of the indexed tokens (at each position the
    first token in list order that starts there is kept, then the scan jumps past it)."""
    out, run_start, i, n = [], 0, 0, len(text)
    while i < n:
        hit = None
        for tok in first_char_index.get(text[i], ()):
            if text.startswith(tok, i):
                hit = tok
                break
        if hit is None:
            i += 1
            continue
        out += [_lower_each(text[run_start:i]), hit]
        i += len(hit)
        run_start = i
    out.append(_lower_each(text[run_start:]))
    return "".join(out)


def _build_trie(words):
    root = {}
    for w in words:
        if w:
            node = root
            for ch in w:
                node = node.setdefault(ch, {})
            node[_END] = True
    return root


def _longest_from(text, states, done, i):
    """Where the match found at position ``i`` is cut: the first partial match (oldest first,
    up to the complete one, ``states[done]``) that completes when extended as far as the
    text allows, with its longest completion."""
    n = len(text)
    for k in range(done + 1):
        start, node, _ = states[k]
        # the older states already took text[i] this round (or failed on it and keep their
        # old node: PaddleNLP reads on from i + 1 all the same, so do we)
        pos = i if k == done else i + 1
        end = pos if _END in node else None
        while pos < n and text[pos] in node:
            node = node[text[pos]]
            pos += 1
            if _END in node:
                end = pos
        if end is not None:
            return start, end
    raise AssertionError("unreachable: states[done] is a complete match")


def _split_on_trie(text, root):
    """``text`` cut around the trie's words the way PaddleNLP's ``Trie.split`` cuts it: a scan
    that tracks partial matches, and on the first complete one cuts the longest extension of
    the oldest partial match that completes, then resumes after it."""
    cuts, states, skip = [0], [], 0          # states: [start, trie node, still matching]
    for i, ch in enumerate(text):
        if i < skip:
            continue
        done = None
        for k, state in enumerate(states):
            node = state[1]
            if _END in node:
                done = k
                break
            nxt = node.get(ch)
            if nxt is None:
                state[2] = False
            else:
                state[1] = nxt
        if done is not None:
            start, end = _longest_from(text, states, done, i)
            cuts += [start, end]
            states, skip = [], end
        else:
            states = [s for s in states if s[2]]
        if i >= skip and ch in root:
            states.append([i, root[ch], True])
    for start, node, _ in states:
        if _END in node:
            cuts += [start, len(text)]
            break
    cuts.append(len(text))
    pieces, prev = [], 0
    for c in cuts:
        if c > prev:
            pieces.append(text[prev:c])
            prev = c
    return pieces


def _read_vocab(path):
    """``{token: id}`` from a one-token-per-line file, read as PaddleNLP reads it (universal
    newlines; a repeated token keeps its last line number)."""
    token_to_id = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            token_to_id[line.rstrip("\n")] = i
    return token_to_id


class WordPieceTokenizer:
    """PaddleNLP's ``ErnieTokenizer`` (or ``BertTokenizer``) without PaddleNLP.

    Constructed directly it is ``ErnieTokenizer(vocab_file, ...)``: the special tokens are not
    yet kept whole when they occur in text. ``load_tokenizer(directory)`` gives the tokenizer
    ``AutoTokenizer.from_pretrained(directory)`` does (``sanitize_special_tokens`` applied).

    Args:
        vocab_file (str | Path): ``vocab.txt``, one token a line, the line number its id.
        do_lower_case (bool): lower-case (and strip accents) before WordPiece.
        unk_token, sep_token, pad_token, cls_token, mask_token, bos_token, eos_token
            (str | AddedToken | None): the special tokens; ``unk_token`` must be in the vocab.
        additional_special_tokens (list): more special tokens (e.g. REL's entity markers).
        added_tokens_decoder (dict): ``{id: token}`` of the tokens added beyond the vocab.
        split_special_tokens (bool): treat special tokens in text as plain text.
        tokenizer_class (str): ``"ErnieTokenizer"`` or ``"BertTokenizer"``; Bert reads the
            options in ``BERT_OPTIONS`` (``do_basic_tokenize``, ``never_split``,
            ``tokenize_chinese_chars``, ``strip_accents``) and maps an id outside the vocab
            to the unknown token (ERNIE raises ``ValueError``).
    """

    def __init__(self, vocab_file, do_lower_case=True, unk_token="[UNK]", sep_token="[SEP]",
                 pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]", *, bos_token=None,
                 eos_token=None, additional_special_tokens=None, added_tokens_decoder=None,
                 split_special_tokens=False, tokenizer_class="ErnieTokenizer",
                 do_basic_tokenize=True, never_split=None, tokenize_chinese_chars=True,
                 strip_accents=None):
        if tokenizer_class not in SUPPORTED_CLASSES:
            raise ValueError(f"tokenizer class {tokenizer_class!r} is not one of "
                             f"{SUPPORTED_CLASSES}")
        vocab_file = Path(vocab_file)
        if not vocab_file.is_file():
            raise FileNotFoundError(f"no vocabulary file {vocab_file}")
        self.tokenizer_class = tokenizer_class
        self.do_lower_case = bool(do_lower_case)
        self.split_special_tokens = bool(split_special_tokens)
        bert = tokenizer_class == "BertTokenizer"
        self.do_basic_tokenize = bool(do_basic_tokenize) if bert else True
        self.never_split = frozenset(never_split or ()) if bert else frozenset()
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars) if bert else True
        self.strip_accents = strip_accents if bert else None
        # the unknown token as constructed: unknown tokens' id and WordPiece's output (a later
        # unk_token from special_tokens_map.json changes neither, as in PaddleNLP)
        self._vocab_unk = None if unk_token is None else str(unk_token)
        self._token_to_id = _read_vocab(vocab_file)
        if not self._token_to_id:
            raise ValueError(f"the vocabulary file {vocab_file} is empty")
        if self._vocab_unk not in self._token_to_id:
            raise ValueError(f"the unknown token {self._vocab_unk!r} is not in {vocab_file}")
        self._id_to_token = {i: t for t, i in self._token_to_id.items()}
        self._unk_id = self._token_to_id[self._vocab_unk]
        self._longest = max(len(t) for t in self._token_to_id)
        self._special = {k: None for k in SPECIAL_ATTRIBUTES}
        self._special["additional_special_tokens"] = []
        for key, value in (("bos_token", bos_token), ("eos_token", eos_token),
                           ("unk_token", unk_token), ("sep_token", sep_token),
                           ("pad_token", pad_token), ("cls_token", cls_token),
                           ("mask_token", mask_token),
                           ("additional_special_tokens", additional_special_tokens)):
            if value is not None:
                self.set_special_token(key, value, _refresh=False)
        self.added_tokens_decoder = {}
        for i, tok in (added_tokens_decoder or {}).items():
            self.added_tokens_decoder[int(i)] = str(tok)
        self.added_tokens_encoder = {t: i for i, t in self.added_tokens_decoder.items()}
        self.unique_no_split_tokens = []
        self._trie = {}
        self._refresh()

    # -- special tokens
    def set_special_token(self, key, value, _refresh=True):
        """Set a special-token attribute (``unk_token``, ..., ``additional_special_tokens``
        or another ``*_token`` key of ``special_tokens_map.json``) without adding it to the
        vocabulary; ``add_special_tokens`` also adds it."""
        if key == "additional_special_tokens":
            if not isinstance(value, (list, tuple)) \
                    or not all(isinstance(t, (str, AddedToken)) for t in value):
                raise ValueError(f"additional_special_tokens must be a list of tokens, got "
                                 f"{value!r}")
            value = list(value)
        elif not key.endswith("_token"):
            raise ValueError(f"{key!r} is not a special-token attribute")
        elif value is not None and not isinstance(value, (str, AddedToken)):
            raise ValueError(f"special token {key} must be a string, got {value!r}")
        self._special[key] = value
        if _refresh:
            self._refresh()

    def _refresh(self):
        """Recompute what tokenising reads from the special and no-split tokens."""
        extended, seen = [], set()
        for value in self._special.values():
            if not value:
                continue
            for tok in value if isinstance(value, list) else [value]:
                if str(tok) not in seen:
                    seen.add(str(tok))
                    extended.append(tok)
        self._extended = extended
        self._all_special = [str(t) for t in extended]
        self._keep_whole = frozenset(self.unique_no_split_tokens)
        self._eats = {t.content: (t.lstrip, t.rstrip) for t in extended
                      if isinstance(t, AddedToken)}
        index = {}
        for tok in self.unique_no_split_tokens + self._all_special:
            if tok:
                index.setdefault(tok[0], []).append(tok)
        self._lower_index = index
        self._basic_never_split = self.never_split | frozenset(self._all_special) \
            if self.tokenizer_class == "BertTokenizer" else frozenset()

    def _special_str(self, key):
        value = self._special.get(key)
        return None if value is None else str(value)

    def _special_id(self, key):
        tok = self._special_str(key)
        return None if tok is None else self.convert_tokens_to_ids(tok)

    unk_token = property(lambda self: self._special_str("unk_token"))
    sep_token = property(lambda self: self._special_str("sep_token"))
    pad_token = property(lambda self: self._special_str("pad_token"))
    cls_token = property(lambda self: self._special_str("cls_token"))
    mask_token = property(lambda self: self._special_str("mask_token"))
    bos_token = property(lambda self: self._special_str("bos_token"))
    eos_token = property(lambda self: self._special_str("eos_token"))
    unk_token_id = property(lambda self: self._special_id("unk_token"))
    sep_token_id = property(lambda self: self._special_id("sep_token"))
    pad_token_id = property(lambda self: self._special_id("pad_token"))
    cls_token_id = property(lambda self: self._special_id("cls_token"))
    mask_token_id = property(lambda self: self._special_id("mask_token"))
    bos_token_id = property(lambda self: self._special_id("bos_token"))
    eos_token_id = property(lambda self: self._special_id("eos_token"))

    @property
    def additional_special_tokens(self):
        return [str(t) for t in self._special["additional_special_tokens"]]

    @property
    def all_special_tokens(self):
        """Every special token once, in ``SPECIAL_ATTRIBUTES`` order."""
        return list(self._all_special)

    @property
    def all_special_tokens_extended(self):
        return list(self._extended)

    @property
    def all_special_ids(self):
        return self.convert_tokens_to_ids(self._all_special)

    # -- vocabulary
    @property
    def vocab_size(self):
        """Size of the base vocabulary (distinct tokens of ``vocab.txt``)."""
        return len(self._id_to_token)

    def __len__(self):
        """The full vocabulary: the base one and the added tokens."""
        return self.vocab_size + len(self.added_tokens_encoder)

    def get_vocab(self):
        return dict(self._token_to_id, **self.added_tokens_encoder)

    def get_added_vocab(self):
        return dict(self.added_tokens_encoder)

    def add_tokens(self, new_tokens, special_tokens=False):
        """Add tokens that are not in the vocabulary yet (ids from ``len(self)`` on) and keep
        them whole in text; returns how many were added. Non-special tokens are lower-cased
        first under ``do_lower_case``."""
        if not new_tokens:
            return 0
        if not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]
        new_tokens = [str(t) for t in new_tokens]
        unk_id = self.convert_tokens_to_ids(self.unk_token)
        to_add = []
        for tok in new_tokens:
            if not special_tokens and self.do_lower_case:
                tok = tok.lower()
            if tok != self.unk_token and self.convert_tokens_to_ids(tok) == unk_id \
                    and tok not in to_add and tok not in self.added_tokens_encoder:
                to_add.append(tok)
        base = len(self)
        for k, tok in enumerate(to_add):
            self.added_tokens_encoder[tok] = base + k
            self.added_tokens_decoder[base + k] = tok
        whole = new_tokens if special_tokens else to_add
        self.unique_no_split_tokens = sorted(set(self.unique_no_split_tokens) | set(whole))
        self._refresh()
        self._trie = _build_trie(
            t.lower() if self.do_lower_case and t not in self._all_special else t
            for t in self.unique_no_split_tokens)
        return len(to_add)

    def add_special_tokens(self, special_tokens_dict, replace_additional_special_tokens=True):
        """Set special tokens (``{"cls_token": ..., "additional_special_tokens": [...]}``),
        add the ones missing from the vocabulary; returns how many were added."""
        if not special_tokens_dict:
            return 0
        added = []
        for key, value in special_tokens_dict.items():
            if key not in self._special:
                raise ValueError(f"{key!r} is not a special-token attribute")
            if key == "additional_special_tokens":
                current = self.additional_special_tokens
                to_add = [t for t in value
                          if replace_additional_special_tokens or str(t) not in current]
                if replace_additional_special_tokens and to_add:
                    self.set_special_token(key, to_add)
                else:
                    self.set_special_token(key, self._special[key] + to_add)
                added += to_add
            else:
                if not isinstance(value, (str, AddedToken)):
                    raise ValueError(f"special token {key} must be a string, got {value!r}")
                self.set_special_token(key, value)
                if value not in added:
                    added.append(value)
        return self.add_tokens(added, special_tokens=True)

    def sanitize_special_tokens(self):
        """Add the special tokens missing from the vocabulary and keep them all whole in text
        (what ``from_pretrained`` does last)."""
        return self.add_tokens(self._extended, special_tokens=True)

    # -- tokens <-> ids
    def _token_id(self, token):
        if token is None:
            return None
        if token in self.added_tokens_encoder:
            return self.added_tokens_encoder[token]
        return self._token_to_id.get(token, self._unk_id)

    def convert_tokens_to_ids(self, tokens):
        """One token -> its id; a list -> a list (the unknown token's id for an unknown one)."""
        if tokens is None:
            return None
        if isinstance(tokens, str):
            return self._token_id(tokens)
        return [self._token_id(t) for t in tokens]

    def _id_token(self, index):
        if index in self.added_tokens_decoder:
            return self.added_tokens_decoder[index]
        if index in self._id_to_token:
            return self._id_to_token[index]
        if self.tokenizer_class == "BertTokenizer":
            return self.unk_token
        raise ValueError(f"Token index {index} in the provided `indices` is invalid.")

    def convert_ids_to_tokens(self, ids, skip_special_tokens=False):
        """One id -> its token; a sequence -> a list (without special tokens if asked)."""
        if isinstance(ids, int):
            return self._id_token(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        out = []
        for index in ids:
            index = int(index)
            if index not in skip:
                out.append(self._id_token(index))
        return out

    @staticmethod
    def convert_tokens_to_string(tokens):
        """Tokens joined by spaces, with ``##`` continuations glued to what they continue."""
        return " ".join(tokens).replace(" ##", "").strip()

    # -- tokenising
    def tokenize(self, text, split_special_tokens=None):
        """Word pieces of ``text``; no-split tokens (special and added ones) come out whole."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        if split_special_tokens is None:
            split_special_tokens = self.split_special_tokens
        if self.do_lower_case:
            text = _lower_outside(text, self._lower_index)
        if split_special_tokens:
            keep, pieces = frozenset(), [text]
        else:
            keep, pieces = self._keep_whole, _split_on_trie(text, self._trie)
        for i, piece in enumerate(pieces):
            if piece not in keep:
                continue
            strip_left, strip_right = self._eats.get(piece, (True, True))
            if strip_right and i + 1 < len(pieces) and pieces[i + 1]:
                pieces[i + 1] = pieces[i + 1].lstrip()
            if strip_left and i > 0 and pieces[i - 1]:
                pieces[i - 1] = pieces[i - 1].rstrip()
        out = []
        for piece in pieces:
            if not piece:
                continue
            if piece in keep:
                out.append(piece)
            else:
                out += self._tokenize_text(piece)
        return out

    def _tokenize_text(self, text):
        if not self.do_basic_tokenize:
            return [p for w in text.split() for p in self._wordpiece(w)]
        out = []
        for word in self._basic_tokenize(text):
            if word in self.never_split:
                out.append(word)
            else:
                out += self._wordpiece(word)
        return out

    def _basic_tokenize(self, text):
        chars = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if _is_whitespace(ch):
                chars.append(" ")
            elif self.tokenize_chinese_chars and _is_cjk(cp):
                chars.append(f" {ch} ")
            else:
                chars.append(ch)
        never_split = self._basic_never_split
        words = []
        for word in "".join(chars).split():
            if word not in never_split:
                if self.do_lower_case:
                    word = word.lower()
                    if self.strip_accents is not False:
                        word = _strip_accents(word)
                elif self.strip_accents:
                    word = _strip_accents(word)
            words += _split_punctuation(word, never_split)
        return " ".join(words).split()

    def _wordpiece(self, word):
        if len(word) > MAX_CHARS_PER_WORD:
            return [self._vocab_unk]
        vocab, pieces, start, n = self._token_to_id, [], 0, len(word)
        while start < n:
            end = min(n, start + self._longest)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    break
                end -= 1
            else:
                return [self._vocab_unk]
            pieces.append(piece)
            start = end
        return pieces

    def __repr__(self):
        return (f"WordPieceTokenizer({self.tokenizer_class}, vocab_size={self.vocab_size}, "
                f"added={len(self.added_tokens_encoder)}, do_lower_case={self.do_lower_case})")


def _saved_tokens(obj):
    """Turn the ``{"__type": "AddedToken", ...}`` dicts of ``tokenizer_config.json`` into
    ``AddedToken``."""
    if isinstance(obj, dict) and obj.get("__type") == "AddedToken":
        return AddedToken.from_dict(obj)
    if isinstance(obj, list):
        return [_saved_tokens(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _saved_tokens(v) for k, v in obj.items()}
    return obj


def _read_json(path):
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read {path}: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


def load_tokenizer(directory):
    """The tokenizer saved in ``directory``, as ``AutoTokenizer.from_pretrained`` loads it.

    Raises:
        ValueError: ``tokenizer_config.json`` is missing, unreadable or names a class other
            than ``SUPPORTED_CLASSES`` (the message says which): load it with PaddleNLP.
        FileNotFoundError: there is no ``vocab.txt``.
    """
    directory = Path(directory)
    config_path = directory / "tokenizer_config.json"
    if not config_path.is_file():
        raise ValueError(f"no {config_path}: the tokenizer class is unknown")
    config = _saved_tokens(_read_json(config_path))
    cls = config.get("tokenizer_class")
    if cls not in SUPPORTED_CLASSES:
        raise ValueError(f"{config_path} names the tokenizer class {cls!r}; the pure-Python "
                         f"WordPieceTokenizer implements only {', '.join(SUPPORTED_CLASSES)}")
    vocab_file = directory / "vocab.txt"
    named = config.get("vocab_file")            # PaddleNLP prefers a named file that exists
    if isinstance(named, str) and os.path.isfile(named):
        vocab_file = Path(named)
    elif not vocab_file.is_file():
        raise FileNotFoundError(f"no vocabulary file {vocab_file}")
    options = {"tokenizer_class": cls}
    keys = ("do_lower_case", "split_special_tokens") + SPECIAL_ATTRIBUTES \
        + (BERT_OPTIONS if cls == "BertTokenizer" else ())
    options.update({k: config[k] for k in keys if k in config})
    if "added_tokens_decoder" in config:
        decoder = {}
        for i, tok in (config["added_tokens_decoder"] or {}).items():
            if not isinstance(tok, (dict, AddedToken)):
                raise ValueError(f"{config_path}: added token {i} is {tok!r}, not a dict")
            decoder[int(i)] = tok.content if isinstance(tok, AddedToken) \
                else AddedToken.from_dict(tok).content
        options["added_tokens_decoder"] = decoder
    tok = WordPieceTokenizer(vocab_file, **options)

    special_map = directory / "special_tokens_map.json"
    if special_map.is_file():
        for key, value in _read_json(special_map).items():
            if isinstance(value, dict):
                value = AddedToken.from_dict(value)
            elif isinstance(value, list):
                value = [AddedToken.from_dict(t) if isinstance(t, dict) else t for t in value]
            tok.set_special_token(key, value)
    added_file = directory / "added_tokens.json"
    if "added_tokens_decoder" not in config and added_file.is_file():
        special = tok.all_special_tokens            # the old format: ids must run on
        for token, index in sorted(_read_json(added_file).items(), key=lambda kv: kv[1]):
            if index != len(tok):
                raise ValueError(f"{added_file}: added token {token!r} has id {index}, "
                                 f"expected {len(tok)} (ids must follow the vocabulary)")
            tok.add_tokens(token, special_tokens=token in special)
    tok.sanitize_special_tokens()
    return tok
