"""The standard-library WordPiece tokenizer against PaddleNLP's: the same pieces and ids for the
same saved directory (ERNIE and BERT classes, cased and uncased, REL's marker tokens glued to
words, control and zero-width characters, CJK, accents, unknown and over-long words, a
randomised corpus), the same vocabulary size and special ids, and no paddle import."""
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from ernie_res.data import wordpiece
from ernie_res.data.wordpiece import WordPieceTokenizer, load_tokenizer

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = f"{ROOT}/data/sample"
REL_MARKERS = ["[E1]", "[/E1]", "[E2]", "[/E2]"]
ANGLE_MARKERS = ["<e1>", "</e1>", "<e2>", "</e2>"]
#: cased, accented and Greek entries, so that case and accents change the pieces
EXTRA_VOCAB = ["Hello", "World", "Paris", "##Ing", "##ING", "Émile", "café", "naïve", "Straße",
               "résumé", "ΟΔΟΣ", "οδοσ", "οδος", "σ", "ς", "Σ", "##σ", "##ς", "É", "é", "##é",
               "[unused0]", "e1", "e2", "##e1", "[E1", "ab", "abc", "##c", "b", "bcd"]
#: text the tokenizers see often: ordinary English, CJK, punctuation and symbols
EXTRA_CORPUS = ("中文分词测试我们的模型北京大学 東京 漢字 "
                "Hello, World! It's a test -- with (parens), [brackets] & symbols: €100, 50%, "
                "x^2, a_b, ~tilde~, `tick`, café naïve résumé Ångström Straße ΟΔΟΣ "
                "한국어 テスト Кириллица العربية हिन्दी\n")


@pytest.fixture(scope="module")
def pnlp():
    """PaddleNLP's classes, quiet (imported here: the module under test must not need it)."""
    from paddlenlp.transformers import AutoTokenizer, BertTokenizer, ErnieTokenizer
    from paddlenlp.utils.log import logger

    logger.set_level("WARNING")
    return {"auto": AutoTokenizer, "ErnieTokenizer": ErnieTokenizer,
            "BertTokenizer": BertTokenizer}


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
    """A corpus vocabulary (``tiny_ernie.build_vocab``) plus cased and accented entries."""
    from ernie_res.models.tiny_ernie import build_vocab

    extra = tmp_path_factory.mktemp("corpus") / "extra.txt"
    extra.write_text(EXTRA_CORPUS, encoding="utf-8")
    words = build_vocab([f"{SAMPLE}/semeval2010", f"{SAMPLE}/conll2003", extra], max_words=1500)
    return words + [w for w in EXTRA_VOCAB if w not in set(words)]


@pytest.fixture(scope="module")
def make_dir(tmp_path_factory, pnlp, vocab):
    """``make_dir(cls, markers=..., **init)``: a directory PaddleNLP's ``save_pretrained``
    wrote, the markers added the way ``models.backbone.add_marker_tokens`` adds them."""
    count = [0]

    def make(cls="ErnieTokenizer", markers=(), vocab_tokens=None, **init):
        count[0] += 1
        out = tmp_path_factory.mktemp(f"tok{count[0]}")
        (out / "vocab.txt").write_text("\n".join(vocab_tokens or vocab) + "\n", encoding="utf-8")
        tok = pnlp[cls](str(out / "vocab.txt"), **init)
        if markers:
            extra = list(getattr(tok, "additional_special_tokens", []) or [])
            tok.add_special_tokens({"additional_special_tokens": extra + list(markers)})
        tok.save_pretrained(str(out))
        return out
    return make


def both(pnlp, directory):
    return pnlp["auto"].from_pretrained(str(directory)), load_tokenizer(directory)


def assert_same(theirs, ours, texts):
    for text in texts:
        pieces = theirs.tokenize(text)
        assert ours.tokenize(text) == pieces, repr(text)
        assert ours.convert_tokens_to_ids(pieces) == theirs.convert_tokens_to_ids(pieces)


# -- loading
def test_importing_the_module_loads_neither_paddle_nor_paddlenlp():
    code = ("import sys, ernie_res.data.wordpiece; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('paddle', 'paddlenlp')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_the_saved_class_is_what_paddlenlp_writes(make_dir):
    for cls in wordpiece.SUPPORTED_CLASSES:
        config = json.loads((make_dir(cls) / "tokenizer_config.json").read_text())
        assert config["tokenizer_class"] == cls


def test_load_refuses_other_classes_and_says_which(make_dir):
    d = make_dir()
    config = json.loads((d / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "GPTTokenizer"
    (d / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="GPTTokenizer"):
        load_tokenizer(d)
    (d / "tokenizer_config.json").unlink()
    with pytest.raises(ValueError, match="tokenizer_config.json"):
        load_tokenizer(d)


def test_load_without_vocab_names_the_missing_file(make_dir):
    d = make_dir()
    (d / "vocab.txt").unlink()
    with pytest.raises(FileNotFoundError, match=str(d / "vocab.txt")):
        load_tokenizer(d)


def test_size_vocab_and_special_tokens_match(pnlp, make_dir):
    for markers in ((), REL_MARKERS):
        theirs, ours = both(pnlp, make_dir(markers=markers))
        assert len(ours) == len(theirs) and ours.vocab_size == theirs.vocab_size
        assert ours.get_vocab() == theirs.get_vocab()
        assert ours.all_special_tokens == theirs.all_special_tokens
        assert ours.all_special_ids == theirs.all_special_ids
        assert ours.additional_special_tokens == theirs.additional_special_tokens
        assert ours.unique_no_split_tokens == theirs.unique_no_split_tokens
        for name in ("unk", "sep", "pad", "cls", "mask", "bos", "eos"):
            assert getattr(ours, f"{name}_token_id") == getattr(theirs, f"{name}_token_id")
    assert len(ours) == len(theirs) == ours.vocab_size + 4


# -- tokenising
ENGLISH = ["Hello, World!", "HELLO world", "It's a test -- (really)!?", "x^2 + a_b = `c`",
           "Café naïve RÉSUMÉ Émile Ångström", "Straße STRASSE", "ΟΔΟΣ οδος Σ σς", "e\u0301",
           "\u0301", "İstanbul", "€100, 50% off; 3.14", "Paris-based parisING ParisIng",
           "don't can't won't", "U.S.A. e.g. i.e.", "  leading and trailing  ", "a.b,c;d:e"]
CHINESE = ["中文分词测试", "我们的model很好", "北京大学2024年", "東京 漢字ABC", "𠀀𪜀 CJK ext",
           "한국어 テスト", "中,文。测！试"]
CONTROL = ["a\tb\nc\r\nd", "no\u00a0break\u3000ideographic", "zero\u200bwidth\u200djoin",
           "\ufeffbom", "nul\x00here", "bell\x07del\x7f", "rep\ufffdlacement", "soft\u00adhyphen",
           "line\u2028sep\u2029para", "\x0b\x0cvertical", "next\x85line", "\x1c\x1d\x1e\x1f"]
UNKNOWN = ["qqqzzzxxx", "Ⅻ", "☃☃", "😀 emoji", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ⓐⓑ", "ﬁ ligature"]
LONG = ["a" * 99, "a" * 100, "a" * 101, "abc" * 40, "é" * 101, "中" * 150,
        "x" * 100 + "!" + "y" * 100]
EMPTY = ["", " ", "\t\n", "\u200b", "\x00"]


@pytest.mark.parametrize("lower", [True, False], ids=["uncased", "cased"])
@pytest.mark.parametrize("texts", [ENGLISH, CHINESE, CONTROL, UNKNOWN, LONG, EMPTY],
                         ids=["english", "chinese", "control", "unknown", "long", "empty"])
def test_pieces_and_ids_match(pnlp, make_dir, lower, texts):
    theirs, ours = both(pnlp, make_dir(do_lower_case=lower))
    assert_same(theirs, ours, texts)


def test_spot_checks(pnlp, make_dir):
    """A few outcomes written out, so a shared misunderstanding would still show."""
    _, ours = both(pnlp, make_dir())
    _, cased = both(pnlp, make_dir(do_lower_case=False))
    assert ours.tokenize("中文") == ["中", "文"]
    assert ours.tokenize("Café") == ["cafe"] and cased.tokenize("café Émile") == ["café", "Émile"]
    assert ours.tokenize("ΟΔΟΣ") == ["οδοσ"]            # lower-cased one character at a time
    assert ours.tokenize("a\u200bb") == ["ab"]           # zero-width space is a format char
    assert ours.tokenize("a" * 101) == ["[UNK]"]
    assert ours.tokenize("ไทย abไ ab") == ["[UNK]", "[UNK]", "ab"]   # a whole word, not a piece
    assert ours.tokenize("") == [] and ours.tokenize("\x00 \t") == []


@pytest.mark.parametrize("lower", [True, False], ids=["uncased", "cased"])
@pytest.mark.parametrize("markers", [REL_MARKERS, ANGLE_MARKERS], ids=["brackets", "angles"])
def test_marker_tokens_glued_to_words(pnlp, make_dir, lower, markers):
    theirs, ours = both(pnlp, make_dir(markers=markers, do_lower_case=lower))
    m1, m2, m3, m4 = markers
    texts = [f"The {m1}Lecture{m2} was about {m3}taxes{m4}.", f"x{m1}y{m2}z",
             f"{m1}{m2}{m3}{m4}", f"  {m1}  spaced  {m2}  ", f"{m1}\u00a0nbsp{m2}",
             f"{m1.upper()} {m1.lower()} {m1[:-1]} {m1[1:]}", f"{m1}{m1}{m2[:3]}{m2}",
             f"[CLS]{m1}[SEP] [cls] [MASK]x [UNK]", f"中{m1}文{m2}。", f"{m1}\t{m2}\n{m3}"]
    assert_same(theirs, ours, texts)
    assert ours.tokenize(f"x {m1} y") == ["x", m1, "y"]
    assert ours.convert_tokens_to_ids(markers) == theirs.convert_tokens_to_ids(markers)


def test_rel_backbone_saved_by_training_reads_the_same(pnlp, tiny_ernie, tmp_path):
    """The REL path end to end: tiny ERNIE, ``add_marker_tokens``, ``save_backbone_files``;
    the encoded SemEval sentences and CoNLL word pieces agree id for id."""
    from ernie_res.data.conll import read_conll
    from ernie_res.data.entity_markers import DEFAULT_MARKERS
    from ernie_res.data.rel_encoding import encode_marked
    from ernie_res.data.semeval import read_semeval
    from ernie_res.data.seq_features import word_pieces
    from ernie_res.models.backbone import add_marker_tokens, load_backbone, save_backbone_files

    encoder, trained = load_backbone(str(tiny_ernie))
    ids, _ = add_marker_tokens(encoder, trained, DEFAULT_MARKERS)
    save_backbone_files(encoder, trained, tmp_path / "backbone")
    theirs, ours = both(pnlp, tmp_path / "backbone")
    assert len(ours) == len(trained) == len(theirs)
    assert ours.convert_tokens_to_ids(list(DEFAULT_MARKERS)) == ids
    for ex in read_semeval(f"{SAMPLE}/semeval2010/TRAIN_FILE.TXT")[:200]:
        args = (ex["text"], ex["e1"], ex["e2"], DEFAULT_MARKERS, ids, 64)
        assert encode_marked(ours, *args) == encode_marked(trained, *args) \
            == encode_marked(theirs, *args), ex["id"]
    sentences = read_conll(f"{SAMPLE}/conll2003/eng.train")[:200]
    for s in sentences:
        assert word_pieces(ours, s["words"]) == word_pieces(trained, s["words"])


# -- ids and strings
def test_ids_round_trip_and_decode(pnlp, make_dir):
    theirs, ours = both(pnlp, make_dir(markers=REL_MARKERS))
    every_id = list(range(len(theirs)))
    tokens = theirs.convert_ids_to_tokens(every_id)
    assert ours.convert_ids_to_tokens(every_id) == tokens
    assert ours.convert_tokens_to_ids(tokens) == every_id
    assert ours.convert_ids_to_tokens(every_id, skip_special_tokens=True) \
        == theirs.convert_ids_to_tokens(every_id, skip_special_tokens=True)
    assert ours.convert_ids_to_tokens(7) == theirs.convert_ids_to_tokens(7)
    assert ours.convert_tokens_to_ids("[E2]") == theirs.convert_tokens_to_ids("[E2]")
    assert ours.convert_tokens_to_ids(["nonexistent-token"]) == [ours.unk_token_id]
    for bad in (len(theirs), -1):
        with pytest.raises(ValueError, match="invalid"):
            theirs.convert_ids_to_tokens([bad])
        with pytest.raises(ValueError, match="invalid"):
            ours.convert_ids_to_tokens([bad])
    for text in ENGLISH + CHINESE + [f"[CLS] the [E1]Lecture[/E1] was ok [SEP]"]:
        pieces = theirs.convert_ids_to_tokens(theirs.convert_tokens_to_ids(theirs.tokenize(text)))
        assert ours.convert_tokens_to_string(pieces) == theirs.convert_tokens_to_string(pieces)
    assert ours.convert_tokens_to_string(["un", "##aff", "##able", "!"]) == "unaffable !"
    odd = ["", "he", "##llo", " ", "##", "## x"]
    assert ours.convert_tokens_to_string(odd) == theirs.convert_tokens_to_string(odd)


# -- the rarer paths: BERT options, added tokens, old formats, AddedToken options
@pytest.mark.parametrize("init", [
    {}, {"do_lower_case": False}, {"strip_accents": False}, {"strip_accents": True,
                                                            "do_lower_case": False},
    {"tokenize_chinese_chars": False}, {"never_split": ["NeverSplit", "hello!", "[E1"]},
    {"never_split": ["NeverSplit", "hello!", "[E1"], "do_lower_case": False},
    {"do_basic_tokenize": False}], ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
def test_bert_class_and_its_options(pnlp, make_dir, init):
    theirs, ours = both(pnlp, make_dir("BertTokenizer", markers=REL_MARKERS, **init))
    assert_same(theirs, ours, ENGLISH + CHINESE + CONTROL + LONG
                + ["Hello [E1]Hello[/E1] [E1 x", "[CLS]x[SEP] [cls]", "NeverSplit hello! x"])
    assert ours.convert_ids_to_tokens([len(theirs) + 5]) \
        == theirs.convert_ids_to_tokens([len(theirs) + 5])             # BERT: [UNK]


def test_added_tokens_overlapping_in_the_trie(pnlp, make_dir):
    """Added tokens that share prefixes and overlap: PaddleNLP's greedy trie scan decides
    where the text is cut (including where it cuts a non-token), and so must we."""
    theirs, ours = both(pnlp, make_dir())
    added = ["AB", "abd", "bcd", "b", "xyz", "xy", "yzw", "qzvx", "zv"]
    assert ours.add_tokens(added) == theirs.add_tokens(added) == 6     # not ab, bcd, b (vocab)
    special = {"additional_special_tokens": ["<e1>", "[E1]", "[E1]X"]}
    assert ours.add_special_tokens(special) == theirs.add_special_tokens(special) == 3
    assert ours.get_vocab() == theirs.get_vocab()
    assert ours.unique_no_split_tokens == theirs.unique_no_split_tokens
    # "qzvjx": "zv" completes while "qzv..." fails on "j", yet PaddleNLP reads on from "x",
    # completes "qzv"+"x" and cuts "qzvjx" as one piece. "[E1]X": the lower-casing pass keeps
    # "[E1]" (sorted first), lowers the "X", and the trie then cuts "[E1]" and "x".
    assert_same(theirs, ours, ["qzvjx", "a qzvjx b", "qzvx zv", "abcd", "abce", "abd",
                               "Abd b", "xyzw", "xyz", "xyyzw", "bcdb", "ab b bcd",
                               "a[E1]xy <e1><E1>", "[E1]X [e1]x [E1]x", "xbcdbxyzw", "aabdd",
                               "abcdabd", "b b  b", "zbcd"])
    assert ours.tokenize("qzvjx") != ours.tokenize("q zv jx")
    assert ours.tokenize("x b y", split_special_tokens=True) \
        == theirs.tokenize("x b y", split_special_tokens=True)


def test_old_added_tokens_file(pnlp, make_dir):
    """A directory whose config has no ``added_tokens_decoder`` takes added tokens from
    ``added_tokens.json``, non-special ones lower-cased and kept whole."""
    d = make_dir(markers=REL_MARKERS)
    config = json.loads((d / "tokenizer_config.json").read_text())
    del config["added_tokens_decoder"]
    (d / "tokenizer_config.json").write_text(json.dumps(config))
    added = json.loads((d / "added_tokens.json").read_text())
    (d / "added_tokens.json").write_text(json.dumps(dict(added, NewWord=max(added.values()) + 1)))
    theirs, ours = both(pnlp, d)
    assert ours.get_vocab() == theirs.get_vocab() and len(ours) == len(theirs)
    assert_same(theirs, ours, ["a NewWord b", "newword[E1]NEWWORDx", "[E2]"])
    (d / "added_tokens.json").write_text(json.dumps({"[E1]": 5}))
    with pytest.raises(ValueError, match="E1"):
        load_tokenizer(d)


def test_special_tokens_saved_as_dicts(pnlp, make_dir):
    """special_tokens_map.json may hold a special token as a dict (an AddedToken with its
    lstrip / rstrip options): it loads, and tokenises the same."""
    d = make_dir(markers=REL_MARKERS)
    smap = json.loads((d / "special_tokens_map.json").read_text())
    smap["additional_special_tokens"] = [
        {"content": "[E1]", "lstrip": True, "rstrip": False},
        {"content": "[/E1]", "lstrip": False, "rstrip": True}, "[E2]",
        {"content": "[/E2]", "lstrip": False, "rstrip": False}]
    (d / "special_tokens_map.json").write_text(json.dumps(smap))
    theirs, ours = both(pnlp, d)
    assert_same(theirs, ours, ["a  [E1]  b  [/E1]  c [E2] d [/E2] e", " [/E2] ", "[E1]"])


def test_whitespace_eaten_beside_a_kept_token(pnlp, make_dir):
    """A token kept whole eats the whitespace of its neighbours (an AddedToken only where its
    lstrip / rstrip say). It shows when the neighbour is then itself a no-split token the trie
    did not cut: a marker that stopped being special keeps its no-split entry, but the trie
    now looks for its lower-cased form."""
    from paddlenlp.transformers.tokenizer_utils_base import AddedToken as TheirAddedToken

    theirs, ours = both(pnlp, make_dir(markers=REL_MARKERS))
    for tok, added_token in ((theirs, TheirAddedToken), (ours, wordpiece.AddedToken)):
        tok.add_special_tokens({"additional_special_tokens": [
            added_token("[E2]", lstrip=False, rstrip=False), "[/E2]"]})
    assert ours.all_special_tokens == theirs.all_special_tokens
    assert ours.unique_no_split_tokens == theirs.unique_no_split_tokens
    texts = ["[E2] [E1]", "[/E2] [E1]", "[E1] [/E2]", "[E1] [E2]", "[E1]", "x [E1]"]
    assert_same(theirs, ours, texts)
    assert ours.tokenize("[/E2] [E1]") == ["[/E2]", "[E1]"]
    assert ours.tokenize("[E2] [E1]")[1] != "[E1]"


def test_odd_vocabulary_files(pnlp, make_dir, vocab):
    """A repeated token keeps its last line (the size counts distinct tokens) and CR line ends
    count as line ends, as PaddleNLP reads them."""
    odd = vocab[:40] + ["hello", "world\rcr", "hello"] + vocab[40:]
    theirs, ours = both(pnlp, make_dir(vocab_tokens=odd, markers=REL_MARKERS))
    assert len(ours) == len(theirs) and ours.get_vocab() == theirs.get_vocab()
    assert_same(theirs, ours, ["hello world cr", "[E1]hello"])
    for tok in (theirs, ours):                   # line 40 lost its token to line 42
        with pytest.raises(ValueError, match="invalid"):
            tok.convert_ids_to_tokens([40])


def test_direct_construction_is_like_paddlenlps(pnlp, make_dir):
    """``WordPieceTokenizer(vocab_file)`` is ``ErnieTokenizer(vocab_file)``: special tokens in
    text are not kept whole until ``sanitize_special_tokens``."""
    d = make_dir()
    theirs = pnlp["ErnieTokenizer"](str(d / "vocab.txt"))
    ours = WordPieceTokenizer(d / "vocab.txt")
    assert_same(theirs, ours, ["[CLS] hello [SEP]"])
    assert ours.tokenize("[CLS]")[0] == "[" and ours.tokenize("[CLS]")[-1] == "]"
    theirs.sanitize_special_tokens()
    ours.sanitize_special_tokens()
    assert_same(theirs, ours, ["[CLS] hello [SEP]"])
    assert ours.tokenize("[CLS]") == ["[CLS]"]


# -- a randomised corpus
def _random_texts(words, n, seed=0):
    rng = random.Random(seed)
    parts = {
        "word": lambda: rng.choice(words),
        "Word": lambda: rng.choice(words).capitalize(),
        "WORD": lambda: rng.choice(words).upper(),
        "unknown": lambda: "".join(rng.choice("qxzjkvw") for _ in range(rng.randint(1, 9))),
        "punct": lambda: rng.choice("!?.,;:'\"()[]{}<>/\\-_=+*&^%$#@~`|…—«»¿¡"),
        "space": lambda: rng.choice([" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000",
                                     "\u2028", "\x0b", "\x0c", "\u2009"]),
        "control": lambda: rng.choice(["\x00", "\x01", "\x1f", "\x7f", "\u200b", "\u200d",
                                       "\ufeff", "\ufffd", "\u00ad", "\x85", "\u2066"]),
        "cjk": lambda: "".join(rng.choice("中文分词测试我们的模型北京大学東京漢字") for _ in
                               range(rng.randint(1, 4))),
        "cjk_rare": lambda: chr(rng.choice([0x3400, 0x4DB5, 0x20000, 0x2A700, 0xF900, 0x2F800,
                                            0x9FFF, 0x2CEAF, 0x3007])),
        "accent": lambda: rng.choice(["café", "naïve", "Émile", "RÉSUMÉ", "Ångström",
                                      "e\u0301", "\u0301", "İstanbul", "Straße", "ΟΔΟΣ", "Σ",
                                      "ǅ", "ﬁ", "Ⅻ", "①"]),
        "symbol": lambda: rng.choice("€©®°±²µ¼×÷→★☃😀$^`~¢£¥§¶•"),
        "other": lambda: rng.choice(["한국어", "テスト", "Кириллица", "العربية", "हिन्दी",
                                     "ไทย", "𝔘𝔫𝔦"]),
        "marker": lambda: rng.choice(REL_MARKERS + ANGLE_MARKERS + [
            "[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", "[cls]", "[E1", "E1]", "[e1]",
            "<E1>", "[unused0]", "[/E"]),
        "long": lambda: "".join(rng.choice("abcde") for _ in range(rng.randint(95, 110))),
        "digits": lambda: str(rng.randint(0, 10 ** rng.randint(1, 8))),
    }
    names = sorted(parts)
    texts = []
    for _ in range(n):
        out = []
        for _ in range(rng.randint(0, 14)):
            out.append(parts[rng.choice(names)]())
            if rng.random() < 0.5:
                out.append(" ")
        texts.append("".join(out))
    return texts


@pytest.mark.parametrize("cls, init, markers", [
    ("ErnieTokenizer", {}, REL_MARKERS),
    ("ErnieTokenizer", {"do_lower_case": False}, ANGLE_MARKERS),
    ("ErnieTokenizer", {}, ANGLE_MARKERS + ["[unused0]"]),
    ("BertTokenizer", {"strip_accents": False}, REL_MARKERS),
], ids=["ernie-uncased-brackets", "ernie-cased-angles", "ernie-uncased-angles", "bert"])
def test_randomised_corpus(pnlp, make_dir, vocab, cls, init, markers):
    theirs, ours = both(pnlp, make_dir(cls, markers=markers, **init))
    words = [w for w in vocab if w.isalpha() and len(w) > 1][:800]
    texts = _random_texts(words, 400, seed=len(markers))
    real = [line.split("\t", 1)[1] for line in
            open(f"{SAMPLE}/semeval2010/TRAIN_FILE.TXT", encoding="utf-8") if "\t" in line]
    assert_same(theirs, ours, texts + real[:100])
