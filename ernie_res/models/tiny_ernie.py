"""Build a tiny, randomly initialised ERNIE checkpoint for tests and the offline demo.

The result is an ordinary ``save_pretrained`` directory (``config.json``,
``model.safetensors``, ``vocab.txt``, tokenizer config), so it loads through exactly the
same ``Model.backbone=DIR`` path as a real checkpoint downloaded by PaddleNLP. The WordPiece
vocabulary is built from a corpus: ERNIE's special tokens, ten ``[unusedN]`` entries (like
BERT's reserved slots), every character seen (alone and as a ``##`` continuation) and the most
frequent lower-cased words after ERNIE's basic tokenisation.
"""
import collections
from pathlib import Path

from ernie_res.models.backbone import _quiet_paddlenlp

SPECIAL_TOKENS = ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"]
UNUSED_TOKENS = [f"[unused{i}]" for i in range(10)]


def _iter_texts(paths):
    for p in paths:
        p = Path(p)
        files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
        for f in files:
            if f.name.lower() in ("readme.md", "readme.txt"):
                continue
            data = f.read_bytes()
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError:
                yield data.decode("latin-1")


def build_vocab(corpus_paths, max_words=3000):
    """Return the vocabulary as a list of tokens (index = id)."""
    from paddlenlp.transformers.bert.tokenizer import BasicTokenizer

    basic = BasicTokenizer(do_lower_case=True)
    words = collections.Counter()
    chars = set()
    for text in _iter_texts(corpus_paths):
        for w in basic.tokenize(text):
            words[w] += 1
            chars.update(w)
    chars = sorted(chars | set("abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"()-"))
    vocab = SPECIAL_TOKENS + UNUSED_TOKENS + chars + ["##" + c for c in chars]
    seen = set(vocab)
    for w, _ in words.most_common():
        if len(vocab) >= len(SPECIAL_TOKENS) + len(UNUSED_TOKENS) + 2 * len(chars) + max_words:
            break
        if w not in seen and len(w) > 1:
            vocab.append(w)
            seen.add(w)
    return vocab


def make_tiny_ernie(output, corpus_paths, hidden_size=64, num_layers=2, num_heads=2,
                    intermediate_size=128, max_position=512, max_words=3000, seed=0,
                    dropout=0.1):
    """Write a tiny ERNIE checkpoint to ``output`` and return the directory path."""
    import paddle
    from paddlenlp.transformers import ErnieConfig, ErnieModel, ErnieTokenizer

    _quiet_paddlenlp()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    vocab = build_vocab(corpus_paths, max_words=max_words)
    vocab_file = output / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    paddle.seed(seed)
    config = ErnieConfig(vocab_size=len(vocab), hidden_size=hidden_size,
                         num_hidden_layers=num_layers, num_attention_heads=num_heads,
                         intermediate_size=intermediate_size,
                         max_position_embeddings=max_position, type_vocab_size=4,
                         pad_token_id=0, hidden_dropout_prob=dropout,
                         attention_probs_dropout_prob=dropout)
    ErnieModel(config).save_pretrained(str(output), safe_serialization=True)
    ErnieTokenizer(str(vocab_file), do_lower_case=True).save_pretrained(str(output))
    return output
