"""Write the synthetic CoNLL-2003-layout sample used by the SEQ demo and tests.

    python data/sample/make_conll2003.py [--out data/sample/conll2003]

Writes eng.train, eng.testa and eng.testb in the original 4-column format (word POS chunk
NER, single spaces, -DOCSTART- -X- -X- O between documents, a blank line after each
sentence) with IOB1 tags like the original release: I- starts an entity, B- only marks a
second entity directly after one of the same type. Every sentence is generated from
templates and made-up names; nothing is copied from the Reuters corpus. Deterministic.
"""
import argparse
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository; this file is in data/sample/

PER = ["John Smith", "Maria Lopez", "Chen Wei", "Ahmed Khan", "Olga Ivanova", "Peter Brandt",
       "Lucy Hart", "Kenji Sato", "Anna Berg", "David Okafor", "Sofia Rossi", "Tom Baker",
       "Ines Duarte", "Marek Novak", "Hana Kim", "Paul Girard"]
ORG = ["Reuters", "Acme Corp", "United Bank", "Northwind Trading", "Global Motors",
       "the World Health Council", "Blue River FC", "Apex Airlines", "Stellar Mining",
       "Union Rail", "Metro Times", "Vantage Capital"]
LOC = ["London", "Paris", "New York", "Tokyo", "Berlin", "Nairobi", "Lima", "Oslo",
       "Sydney", "Cairo", "Madrid", "Seoul", "Germany", "Brazil", "Canada", "India"]
MISC = ["German", "French", "Olympic", "Japanese", "Euro", "Brazilian", "World Cup",
        "Nobel", "Canadian", "Italian"]

# names that appear only in the dev/test files, so the sample measures generalisation
UNSEEN = {"PER": ["Nora Quist", "Ivan Petrov", "Leila Haddad", "Sam Ortiz", "Yuki Mori"],
          "ORG": ["Harbor Energy", "Crown Foods", "Delta Shipping", "Pioneer Labs"],
          "LOC": ["Dublin", "Manila", "Quito", "Vienna", "Chile"],
          "MISC": ["Swiss", "Asian Games", "Korean"]}

TEMPLATES = [
    "{PER} said on Monday that {ORG} would open an office in {LOC} .",
    "{ORG} shares rose 3 percent in {LOC} after the {MISC} report .",
    "{PER} , a spokesman for {ORG} , declined to comment .",
    "The {MISC} team beat {ORG} 2-1 in {LOC} on Sunday .",
    "{PER} met {PER} in {LOC} to discuss the deal .",
    "Police in {LOC} arrested two men , {PER} told reporters .",
    "{ORG} and {ORG} agreed to merge , the companies said in {LOC} .",
    "{LOC} {LOC} talks ended without agreement .",
    "{PER} won the {MISC} title for the second time .",
    "Prices fell in {LOC} as {ORG} cut its forecast .",
    "The {MISC} government said {PER} would visit {LOC} next week .",
    "{ORG} reported a profit of 12 million dollars .",
    "Rain delayed the match between {ORG} and {ORG} .",
    "{PER} scored twice as {ORG} won in {LOC} .",
    "Analysts expect the {MISC} economy to grow this year .",
    "There was no comment from officials on Tuesday .",
]
POS = {"said": "VBD", "on": "IN", "in": "IN", "the": "DT", "a": "DT", "to": "TO", ",": ",",
       ".": ".", "and": "CC", "would": "MD", "that": "IN"}


def tokens_of(template, rng, unseen=False):
    """Yield (word, entity type or None, entity id) triples for one sentence."""
    out, eid = [], 0
    for piece in template.split():
        if piece.startswith("{") and piece.endswith("}"):
            kind = piece[1:-1]
            pool = {"PER": PER, "ORG": ORG, "LOC": LOC, "MISC": MISC}[kind]
            name = rng.choice(UNSEEN[kind] if unseen and rng.random() < 0.5 else pool)
            eid += 1
            out.extend((w, kind, eid) for w in name.split())
        else:
            out.append((piece, None, 0))
    return out


def iob1(triples):
    tags, prev = [], (None, 0)
    for _, kind, eid in triples:
        if kind is None:
            tags.append("O")
        elif prev[0] == kind and prev[1] != eid:
            tags.append(f"B-{kind}")          # a new entity right after one of the same type
        else:
            tags.append(f"I-{kind}")
        prev = (kind, eid)
    return tags


def pos_of(word):
    if word in POS:
        return POS[word]
    if word[0].isdigit():
        return "CD"
    return "NNP" if word[0].isupper() else "NN"


def write(path, n_docs, rng, unseen=False):
    lines = []
    for _ in range(n_docs):
        lines += ["-DOCSTART- -X- -X- O", ""]
        for _ in range(rng.randint(3, 6)):
            triples = tokens_of(rng.choice(TEMPLATES), rng, unseen)
            for (w, _, _), tag in zip(triples, iob1(triples)):
                p = pos_of(w)
                chunk = "I-NP" if p in ("NNP", "NN", "DT", "CD") else "O"
                lines.append(f"{w} {p} {chunk} {tag}")
            lines.append("")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "data" / "sample" / "conll2003"),
                   help="output directory (default: data/sample/conll2003 in the repository)")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2003)
    for name, n in (("eng.train", 60), ("eng.testa", 12), ("eng.testb", 12)):
        write(out / name, n, rng, unseen=name != "eng.train")
    print(f"wrote {out}/eng.train, eng.testa, eng.testb")


if __name__ == "__main__":
    main()
