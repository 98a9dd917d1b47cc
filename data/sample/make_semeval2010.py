"""Write the small synthetic SemEval-2010 Task 8 sample used by tests and the offline REL demo.

    python data/sample/make_semeval2010.py [--out data/sample] [--train 150] [--test 60]

Writes ``OUT/semeval2010/TRAIN_FILE.TXT`` (IDs from 1) and ``OUT/semeval2010/TEST_FILE_FULL.TXT``
(IDs from 8001) in the official four-line format with CRLF line endings, and
``OUT/semeval2010/README.md``. Every sentence is generated here from the templates and word
lists below; nothing comes from the real corpus. All 19 labels occur in both files. The
output is a pure function of this file and the arguments: re-running reproduces identical bytes.
"""
import argparse
import collections
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository; this file is in data/sample/
if str(ROOT) not in sys.path:  # so that ``import ernie_res`` works from a clean clone
    sys.path.insert(0, str(ROOT))

from ernie_res.data.semeval import LABELS  # noqa: E402

SAMPLE_NAME = "semeval2010"
# relation: (first-argument words, second-argument words, templates with the first argument
# first (label "(e1,e2)"), templates with the second argument first (label "(e2,e1)")).
# {A} is the first argument of the relation (the cause, the component, ...), {B} the second.
RELATIONS = {
    "Cause-Effect": (
        "fire virus earthquake storm infection explosion stress drought".split(),
        "smoke fever damage flooding headache panic famine noise".split(),
        ["The {A} caused severe {B} in the region.",
         "A sudden {A} triggered {B} across the valley.",
         "Doctors agree that the {A} leads to {B} in most cases."],
        ["The {B} was caused by a {A}.",
         "Most of the {B} came from the {A} last week.",
         "Reports say the {B} resulted from an old {A}."]),
    "Component-Whole": (
        "wheel handle keyboard engine roof blade lens door".split(),
        "bicycle suitcase laptop tractor cottage knife camera cabinet".split(),
        ["The {A} of the {B} was broken.",
         "She replaced the {A} on her {B} before the trip."],
        ["The {B} has a large {A}.",
         "Our {B} came with a spare {A} in the box."]),
    "Content-Container": (
        "apples letters coins water tools books".split(),
        "basket box jar bottle drawer crate".split(),
        ["The {A} were kept in a {B} under the stairs.",
         "All the {A} sat inside the old {B}."],
        ["The {B} was full of {A}.",
         "He opened the {B} that contained the {A}."]),
    "Entity-Destination": (
        "package water children letter ball car".split(),
        "warehouse tank school office basket garage".split(),
        ["The {A} was sent to the {B} on Monday.",
         "They moved the {A} into the {B} at night."],
        ["Into the {B} they poured the {A}.",
         "The {B} is where the {A} finally went."]),
    "Entity-Origin": (
        "wine smoke passengers oil honey water".split(),
        "vineyard chimney airport well hive spring".split(),
        ["The {A} came from a small {B}.",
         "Fresh {A} flowed out of the {B} all day."],
        ["From the {B} emerged a thick {A}.",
         "The {B} released its {A} slowly."]),
    "Instrument-Agency": (
        "hammer scalpel telescope knife brush saw".split(),
        "carpenter surgeon astronomer chef painter woodcutter".split(),
        ["The {A} was used by the {B}.",
         "A sharp {A} is the favourite tool of every {B}."],
        ["The {B} cut the rope with a {A}.",
         "The {B} works with a heavy {A}."]),
    "Member-Collection": (
        "tree soldier bird player sheep student".split(),
        "forest army flock team herd class".split(),
        ["Each {A} in the {B} was counted.",
         "The tallest {A} of the {B} stood apart."],
        ["The {B} included a young {A}.",
         "Our {B} lost one {A} during the winter."]),
    "Message-Topic": (
        "report lecture article book speech memo".split(),
        "recycling taxes climate history safety football".split(),
        ["The {A} was about {B}.",
         "Her {A} described {B} in detail."],
        ["The {B} was discussed in the {A}.",
         "Questions about {B} filled the whole {A}."]),
    "Product-Producer": (
        "bread chair software car cheese painting".split(),
        "baker carpenter company factory farmer artist".split(),
        ["The {A} was made by a local {B}.",
         "This {A} comes from a famous {B}."],
        ["The {B} built a new {A}.",
         "A {B} in the village sells {A}."]),
}
OTHER_NOUNS = sorted({w for a, b, _, _ in RELATIONS.values() for w in a + b})
OTHER_TEMPLATES = ["The {A} stood next to the {B}.",
                   "A {A} and a {B} were seen on Tuesday.",
                   "Nobody mentioned the {A} while the {B} was there.",
                   "After the {A}, we talked about the {B} for hours."]
# Real-data quirks, applied to some sentences: inner double quotes, non-ASCII text, a
# two-word entity.
PREFIXES = ["", "", "", "Yesterday, ", "In the café, ", 'As the note said, "', "Naïvely, "]
COMMENTS = ["", "", "", "synthetic example", "direction checked twice"]


def make_example(rng, label):
    """Return ``(marked_sentence, comment)`` for one label."""
    if label == "Other":
        a, b = rng.sample(OTHER_NOUNS, 2)
        template, first_is_a = rng.choice(OTHER_TEMPLATES), True
    else:
        rel, direction = label[:-7], label[-7:]
        a_words, b_words, forward, backward = RELATIONS[rel]
        a, b = rng.choice(a_words), rng.choice(b_words)
        first_is_a = direction == "(e1,e2)"
        template = rng.choice(forward if first_is_a else backward)
    if rng.random() < 0.1:
        a = "olive " + a if a in ("oil", "water") else a
    e_a, e_b = (("<e1>", "</e1>"), ("<e2>", "</e2>")) if first_is_a else \
        (("<e2>", "</e2>"), ("<e1>", "</e1>"))
    sentence = template.format(A=f"{e_a[0]}{a}{e_a[1]}", B=f"{e_b[0]}{b}{e_b[1]}")
    prefix = rng.choice(PREFIXES)
    if prefix:
        sentence = prefix + sentence[0].lower() + sentence[1:]
        if prefix.endswith('"'):
            sentence += '"'
    return sentence, rng.choice(COMMENTS)


def make_split(rng, n, first_id):
    labels = [LABELS[i % len(LABELS)] for i in range(n)]
    rng.shuffle(labels)
    blocks = []
    for k, label in enumerate(labels):
        sentence, comment = make_example(rng, label)
        comment_line = "Comment:" + (f" {comment}" if comment else "")
        blocks.append(f'{first_id + k}\t"{sentence}"\r\n{label}\r\n{comment_line}\r\n\r\n')
    return "".join(blocks), collections.Counter(labels)


def readme(train_counts, test_counts):
    rows = "\n".join(f"| `{label}` | {train_counts[label]} | {test_counts[label]} |"
                     for label in LABELS)
    return f"""# Synthetic SemEval-2010 Task 8 sample

**Synthetic.** Every sentence was generated by `data/sample/make_semeval2010.py` from a few
hand-written templates and word lists per relation; no sentence comes from the real SemEval-2010
Task 8 data. It exists so that the REL tests and demo run offline. Scores on it say nothing
about scores on the real data (8,000 training and 2,717 test sentences).

The files follow the official format: `ID<TAB>"sentence with <e1>..</e1> and <e2>..</e2>"`, the
label, a `Comment:` line and a blank line per example, CRLF line endings, UTF-8 (a few
sentences contain non-ASCII letters and inner double quotes). `<e1>` always comes before `<e2>`,
as in the real data; the direction `(e2,e1)` means the relation's first argument is e2.
`TRAIN_FILE.TXT` has IDs from 1, `TEST_FILE_FULL.TXT` IDs from 8001, as in the release.

Regenerate (identical bytes) with `python data/sample/make_semeval2010.py`.

| label | train | test |
|---|---|---|
{rows}
| **total** | **{sum(train_counts.values())}** | **{sum(test_counts.values())}** |
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "data" / "sample"))
    parser.add_argument("--train", type=int, default=150)
    parser.add_argument("--test", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2010)
    args = parser.parse_args(argv)
    if args.train < len(LABELS) or args.test < len(LABELS):
        parser.error(f"expected --train and --test >= {len(LABELS)} so every label occurs, "
                     f"got {args.train} and {args.test}")
    rng = random.Random(args.seed)
    out = Path(args.out) / SAMPLE_NAME
    out.mkdir(parents=True, exist_ok=True)
    train, train_counts = make_split(rng, args.train, 1)
    test, test_counts = make_split(rng, args.test, 8001)
    (out / "TRAIN_FILE.TXT").write_bytes(train.encode("utf-8"))
    (out / "TEST_FILE_FULL.TXT").write_bytes(test.encode("utf-8"))
    (out / "README.md").write_bytes(readme(train_counts, test_counts).encode("utf-8"))
    print(f"wrote {args.train} train and {args.test} test examples to {out}")


if __name__ == "__main__":
    main()
