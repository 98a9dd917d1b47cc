"""Write the small synthetic Penn-Treebank-style sample that the GEN (text VAE) demo uses.

    python data/sample/make_ptb.py [--out data/sample/ptb]

Writes ``OUT/ptb.{train,valid,test}.txt`` (600/100/100 sentences) and ``OUT/README.md``. The
files have the format of Mikolov's PTB language-modelling split: one sentence per line, a
space at the start and end of each line, lower case, no punctuation except the tokens PTB
keeps (``'s``, ``n't``, ``$``, ``&``, abbreviations such as ``mr.``), ``N`` for every number
and ``<unk>`` for rare words. Every sentence is generated here from small hand-written
vocabularies and templates; no text comes from the Penn Treebank. The output is a pure
function of this file: re-running it reproduces identical bytes.
"""
import argparse
import collections
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository; this file is in data/sample/
SPLITS = (("train", 600, 11), ("valid", 100, 12), ("test", 100, 13))  # name, sentences, seed
UNK = "<unk>"
NUM = "N"

COMPANIES = ("the company", "the firm", "the bank", "the utility", "the airline",
             "the retailer", "the insurer", "the maker", "the publisher", "the brokerage",
             "the chemical concern", "the steel maker", "the computer maker", "the unit")
NAMED = ("general motors", "the treasury", "wall street", "the fed", "the board",
         "congress", "the white house", "the agency", "the court", "the state")
PEOPLE = ("analysts", "traders", "investors", "economists", "officials", "executives",
          "lawyers", "dealers", "managers", "shareholders", "bankers", "workers")
TITLES = ("mr.", "mrs.", "ms.")
ROLES = ("chairman", "president", "chief executive officer", "spokesman", "analyst",
         "director", "vice president", "treasurer", "economist", "spokeswoman")
MONEY_UNITS = ("million", "billion")
THINGS = ("shares", "bonds", "stocks", "prices", "sales", "earnings", "profits", "rates",
          "yields", "orders", "revenue", "costs", "futures", "contracts", "imports")
MARKETS = ("the stock market", "the bond market", "the dollar", "trading", "the index",
           "the economy", "the market", "demand", "interest rates", "oil prices")
MOVES = ("rose", "fell", "climbed", "declined", "jumped", "slipped", "dropped", "gained",
         "eased", "surged")
SAY = ("said", "added", "noted", "reported", "estimated", "believed")  # any subject
SAY_ONE = SAY + ("says", "believes", "expects")  # third person singular subjects only
PLAN_VERBS = ("acquire", "sell", "buy", "close", "restructure", "expand", "merge with",
              "spin off", "invest in", "sue")
ASSETS = ("its unit", "a plant", "the division", "its stake", "a chain of stores",
          "the business", "its headquarters", "a subsidiary", "the operations", "the assets")
ADJ = ("new", "big", "small", "major", "weak", "strong", "recent", "federal", "foreign",
       "japanese", "european", "higher", "lower", "annual", "quarterly")
TIMES = ("yesterday", "last week", "last year", "this year", "in the quarter",
         "in october", "in N", "next month", "late friday", "earlier this month")
REASONS = ("concern about inflation", "the budget deficit", "higher interest rates",
           "the takeover bid", "weak demand", "the trade gap", "heavy selling",
           "program trading", "the earthquake", "labor costs")
NEGATED = ("does n't", "did n't", "wo n't", "could n't", "does", "did", "ca n't")
COPULA = ("is", "is n't", "was", "was n't")
LINK = ("and", "but", "while", "because", "although")


def _maybe_unk(rng, words, p=0.12):
    """One phrase from ``words``; with probability ``p`` a rare name shown as ``<unk>``."""
    return UNK if rng.random() < p else rng.choice(words)


def _subject(rng):
    r = rng.random()
    if r < 0.4:
        return rng.choice(COMPANIES)
    if r < 0.6:
        return rng.choice(NAMED)
    if r < 0.8:
        return rng.choice(PEOPLE)
    return f"{UNK} {rng.choice(('inc.', 'corp.', 'co.'))}"


def _person(rng):
    return f"{rng.choice(TITLES)} {UNK}"


def _money(rng):
    return f"$ {NUM} {rng.choice(MONEY_UNITS)}" if rng.random() < 0.7 else f"$ {NUM}"


def _clause(rng):
    kind = rng.randrange(8)
    if kind == 0:
        unit = rng.choice(("points", "percent", "cents"))
        return f"{rng.choice(MARKETS)} {rng.choice(MOVES)} {NUM} {unit} {rng.choice(TIMES)}"
    if kind == 1:
        return (f"{_subject(rng)} 's {rng.choice(THINGS)} {rng.choice(MOVES)} {NUM} percent to "
                f"{_money(rng)}")
    if kind == 2:
        return (f"{_subject(rng)} agreed to {rng.choice(PLAN_VERBS)} {rng.choice(ASSETS)} "
                f"for {_money(rng)}")
    if kind == 3:
        return (f"{_person(rng)} {rng.choice(NEGATED)} expect {rng.choice(ADJ)} "
                f"{rng.choice(THINGS)} {rng.choice(TIMES)}")
    if kind == 4:
        return f"{_person(rng)} is {rng.choice(ROLES)} of {_maybe_unk(rng, NAMED, 0.4)}"
    if kind == 5:
        return f"{rng.choice(THINGS)} {rng.choice(MOVES)} on {rng.choice(REASONS)}"
    if kind == 6:
        return (f"{_subject(rng)} posted a {rng.choice(ADJ)} loss of {_money(rng)} "
                f"{rng.choice(TIMES)}")
    return (f"{rng.choice(PEOPLE)} {rng.choice(SAY)} {rng.choice(MARKETS)} "
            f"{rng.choice(COPULA)} likely to recover")


def sentence(rng):
    """One PTB-style sentence (a string of space-separated tokens)."""
    text = _clause(rng)
    r = rng.random()
    if r < 0.25:
        text = f"{text} {rng.choice(LINK)} {_clause(rng)}"
    elif r < 0.45:
        if rng.random() < 0.5:
            text = f"{text} {_person(rng)} {rng.choice(SAY_ONE)}"
        else:
            text = f"{text} {rng.choice(PEOPLE)} {rng.choice(SAY)}"
    elif r < 0.55:
        text = f"{rng.choice(PEOPLE)} {rng.choice(SAY)} {text}"
    # Numbers never appear as digits in PTB: the templates only ever write "N".
    return " ".join(text.split())


def generate(out):
    """Write the three splits and README.md under ``out``; return ``{split: [sentences]}``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = {}
    for name, count, seed in SPLITS:
        rng = random.Random(seed)
        sents = [sentence(rng) for _ in range(count)]
        result[name] = sents
        # Mikolov's files put one space before and after each sentence.
        data = "".join(f" {s} \n" for s in sents)
        (out / f"ptb.{name}.txt").write_bytes(data.encode("utf-8"))
    (out / "README.md").write_bytes(readme(result).encode("utf-8"))
    return result


def readme(splits):
    vocab = collections.Counter(w for s in splits["train"] for w in s.split())
    rows = []
    for name, sents in splits.items():
        toks = [w for s in sents for w in s.split()]
        lens = [len(s.split()) for s in sents]
        rows.append(f"| `ptb.{name}.txt` | {len(sents)} | {len(toks)} | "
                    f"{min(lens)}-{max(lens)} (mean {sum(lens) / len(lens):.1f}) | "
                    f"{100 * toks.count(UNK) / len(toks):.1f}% | "
                    f"{100 * toks.count(NUM) / len(toks):.1f}% |")
    return f"""# `ptb/`: synthetic Penn-Treebank-style sample

**Synthetic.** Every sentence was generated by `data/sample/make_ptb.py` from small
hand-written vocabularies and templates (financial-news phrasing); no text comes from the Penn
Treebank. It exists so that the GEN (text VAE) demo and tests run offline. Numbers on it say
nothing about numbers on the real PTB.

Format: that of the PTB language-modelling split of Mikolov et al. (2010),
`ptb.{{train,valid,test}}.txt`: UTF-8, one sentence per line with a space at the start and end
of the line, lower case, tokens separated by single spaces, `N` for every number, `<unk>` for
rare words (here: names of people and companies), and only the punctuation PTB keeps
(`'s`, `n't`, `$`, abbreviations such as `mr.` and `inc.`). There are no blank lines and no
digits. Read it with `ernie_res.data.sentences.read_sentences`.

Regenerate (identical bytes) with `python data/sample/make_ptb.py`.

| file | sentences | tokens | length (tokens) | `<unk>` | `N` |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Training vocabulary: {len(vocab)} token types.
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "data" / "sample" / "ptb"))
    args = parser.parse_args()
    splits = generate(args.out)
    print(f"wrote {', '.join(f'{k}: {len(v)}' for k, v in splits.items())} sentences "
          f"to {args.out}")


if __name__ == "__main__":
    main()
