"""Write the small synthetic 20 Newsgroups sample that the offline demo trains on.

    python data/sample/make_20ng.py [--out data/sample]

Writes ``OUT/20news-bydate/20news-bydate-{train,test}/<group>/<file id>`` in the exact layout
of the real ``20news-bydate`` archive (latin-1 postings with From/Subject/Organization/Lines
headers) and the 20NG section of ``OUT/README.md``. Every word is generated here from the
vocabularies below; nothing comes from the real corpus. The output is a pure function of this
file: re-running it reproduces identical bytes.
"""
import argparse
import random
import re
import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository; this file is in data/sample/
SAMPLE_NAME = "20news-bydate"
# (train, test) documents per group.
COUNTS = {
    "comp.graphics": (60, 20),
    "rec.autos": (62, 21),
    "rec.sport.hockey": (58, 19),
    "sci.med": (61, 20),
    "sci.space": (59, 20),
    "talk.politics.guns": (60, 19),
}
# Documents with an empty body (headers only): one in train, one in test.
EMPTY_BODY = {("train", "sci.med", 5), ("test", "rec.autos", 2)}
# Documents whose body is only a quote block, so they become "" once quotes are removed.
QUOTE_ONLY = {("train", "comp.graphics", 11)}

TOPIC = {  # topic nouns; several words are deliberately shared by two groups
    "comp.graphics": "image pixel polygon shader texture bitmap renderer raytracer palette "
                     "format jpeg gif tiff algorithm vertex mesh display resolution software "
                     "program viewer library screen card animation color file data driver",
    "rec.autos": "engine transmission clutch brake tire sedan dealer mileage gearbox "
                 "carburetor exhaust radiator warranty insurance license speed highway "
                 "wagon coupe battery oil mechanic dealership model steering road",
    "rec.sport.hockey": "goalie puck playoff rink defenseman penalty season team coach "
                        "score league period stick skate overtime trade roster game fans "
                        "referee winger shot arena draft speed",
    "sci.med": "patient doctor symptom diagnosis treatment disease vitamin diet infection "
               "allergy clinic medication dose surgery pain blood study research results "
               "radiation cancer therapy nurse insurance migraine",
    "sci.space": "orbit shuttle launch rocket satellite probe mission astronaut lunar "
                 "telescope payload booster station planet comet gravity radiation research "
                 "data image results thrust spacecraft moon budget",
    "talk.politics.guns": "firearm rifle handgun ammunition amendment congress crime police "
                          "law license permit militia weapon holster caliber pistol shotgun "
                          "ban government court rights budget vote citizens",
}
COMMON_NOUNS = ("question article answer problem idea friend thing point reason part number "
                "system week year price time opinion experience advice source reply list "
                "article newsgroup message group people information book").split()
VERBS = ("find buy check fix use replace test read try recommend compare explain trust "
         "avoid build measure discuss order see get").split()
ADJECTIVES = ("better worse cheaper faster interesting strange common rare expensive simple "
              "useful reliable important obvious good bad new old different").split()
COMPARATIVES = "better worse cheaper faster simpler safer newer".split()
TIMES = "week month year summer winter season".split()
SOURCES = ("FAQ", "newspaper", "last issue of the magazine", "manual", "archive",
           "library", "weekly newsletter")
NAMES = ("John Smith", "Mary Jones", "René Dubé", "Jürgen Müller", "Zoë Brontë", "José Peña",
         "David Clark", "Susan Miller", "François Lefèvre", "Søren Kjær", "Paul Walker",
         "Linda Green", "Björn Åström", "Mike Brown", "Karen White", "Tom Harris")
HOSTS = ("cs.example.edu", "eng.example.edu", "news.example.com", "math.univ.example.org",
         "lab.example.gov", "mail.example.net")
ORGS = ("University of Example", "Example Computing Services", "Université de Montréal",
        "Technische Universität München", "Example Research Laboratory",
        "Example Public Access Network", "Example State University")
MOTTOS = ("Opinions are my own.", "Standard disclaimers apply.", "Have a nice day!",
          "Just my two cents (or £0.02).", "Life is too short for bad coffee.")
TEMPLATES = (
    "I think the {T} is {C} than the {T} most people {V}.",
    "Has anyone here tried to {V} a {T} with a {N}?",
    "The {T} and the {T} were {A} last {time}.",
    "My {N} says the {T} is {A}, but I am not sure.",
    "If you {V} the {T}, the {T} will be {A}.",
    "We spent {num} dollars on the {T} and the {N}.",
    "There is a {A} {N} about the {T} in the {source}.",
    "Does anybody know where I can {V} a {A} {T}?",
    "Thanks in advance for any {N} on the {T}.",
    "As far as I know, the {T} only matters when the {N} is {A}.",
    "It cost me £{num} to {V} the {T}, which seems {A} to me.",
    "The real question is whether the {T} can {V} the {N} at all.",
    "I read in the {source} that the {T} and the {T} are {A}.",
    "Please {V} me if you have a {A} {T}.",
    "In my {N}, the {A} {T} is the {A} part of the {T}.",
    "{name} told me over a café au lait that the {T} was {A}.",
    "Last {time} I saw a {A} {T} near the {N}.",
    "Nobody wants to {V} the {T} without a {A} {N}.",
    "Why would anyone {V} the {T}?",
    "Call it naïve, but the {T} looks {A} to me.",
    "The {N} is {A}, the {T} is {A}, and the {T} is still {A}.",
)


_AN = re.compile(r"\b([Aa]) ([aeiou])")


class PostingWriter:
    """Generates postings for one (split, group) from its own seeded ``random.Random``."""

    def __init__(self, split, group):
        self.split, self.group = split, group
        self.rng = random.Random(f"ernie_res-sample/{split}/{group}")
        self.topic = TOPIC[group].split()
        self.others = [w for g, ws in sorted(TOPIC.items()) if g != group for w in ws.split()]

    def topic_word(self):
        r = self.rng.random()
        if r < 0.5:
            return self.rng.choice(self.topic)
        if r < 0.75:
            return self.rng.choice(COMMON_NOUNS)
        return self.rng.choice(self.others)

    def sentence(self):
        rng = self.rng
        text = rng.choice(TEMPLATES)
        fill = {"N": lambda: rng.choice(COMMON_NOUNS), "V": lambda: rng.choice(VERBS),
                "A": lambda: rng.choice(ADJECTIVES), "C": lambda: rng.choice(COMPARATIVES),
                "time": lambda: rng.choice(TIMES),
                "source": lambda: rng.choice(SOURCES), "name": lambda: rng.choice(NAMES),
                "num": lambda: str(rng.randint(2, 900)), "T": self.topic_word}
        while "{" in text:
            start = text.index("{")
            end = text.index("}", start)
            text = text[:start] + fill[text[start + 1:end]]() + text[end + 1:]
        return _AN.sub(r"\1n \2", text)

    def paragraphs(self, min_words, max_words):
        """Sentences adding up to between ``min_words`` and ``max_words`` words."""
        target = min_words + int((max_words - min_words) * self.rng.random() ** 2)
        sentences, total = [], 0
        while total < target:
            s = self.sentence()
            if total + len(s.split()) > max_words:
                break
            sentences.append(s)
            total += len(s.split())
        paras, i = [], 0
        while i < len(sentences):
            k = self.rng.randint(2, 5)
            paras.append(textwrap.fill(" ".join(sentences[i:i + k]), width=72))
            i += k
        return paras

    def person(self):
        name = self.rng.choice(NAMES)
        user = name.split()[0].lower()[:1] + name.split()[-1].lower()
        user = user.encode("ascii", "ignore").decode() or "user"
        return name, f"{user}@{self.rng.choice(HOSTS)}"

    def quote_block(self):
        rng = self.rng
        name, email = self.person()
        msg_id = f"<1993Apr{rng.randint(1, 28)}.{rng.randint(100000, 999999)}." \
                 f"{rng.randint(100, 9999)}@{email.split('@')[1]}>"
        intro = rng.choice((f"In article {msg_id}, {email} ({name}) writes:",
                            f"In article {msg_id} {email} writes:",
                            f"{email} ({name}) wrote:"))
        mark = "|" if rng.random() < 0.15 else ">"
        quoted = []
        for para in self.paragraphs(10, 45):
            quoted.extend(f"{mark} {line}" for line in para.split("\n"))
            quoted.append(mark)
        return [intro] + quoted[:-1]

    def signature(self, name, email):
        dash = self.rng.choice(("-- ", "--", "----------------------------------------"))
        lines = [dash, f"{name}   {email}"]
        if self.rng.random() < 0.6:
            lines.append(self.rng.choice(MOTTOS))
        return lines

    def posting(self, index):
        rng = self.rng
        name, email = self.person()
        key = (self.split, self.group, index)
        reply = key in QUOTE_ONLY or (key not in EMPTY_BODY and rng.random() < 0.35)
        subject_words = [self.rng.choice(self.topic) for _ in range(rng.randint(1, 3))]
        subject = ("Re: " if reply else "") + " ".join(subject_words).capitalize() \
            + rng.choice(("", "?", " question", " FAQ", " for sale", " (long)"))
        body = []
        if key in QUOTE_ONLY:
            body = self.quote_block()
        elif key not in EMPTY_BODY:
            if reply:
                body = self.quote_block() + [""]
            paras = self.paragraphs(30, 300)
            body += "\n\n".join(paras).split("\n")
            if rng.random() < 0.3:
                body += [""] + self.signature(name, email)
        headers = [f"From: {email} ({name})", f"Subject: {subject}",
                   f"Organization: {rng.choice(ORGS)}", f"Lines: {len(body)}"]
        return "\n".join(headers) + "\n\n" + "".join(line + "\n" for line in body)


def generate(out_dir):
    """Write the sample under ``out_dir/20news-bydate``; returns ``{split: {group: count}}``."""
    base = Path(out_dir) / SAMPLE_NAME
    if base.exists():
        shutil.rmtree(base)
    ids = random.Random("ernie_res-sample/file-ids")
    counts = {}
    for split, start, col in (("train", 37261, 0), ("test", 52550, 1)):
        file_id = start
        counts[split] = {}
        for group in sorted(COUNTS):
            writer = PostingWriter(split, group)
            group_dir = base / f"20news-bydate-{split}" / group
            group_dir.mkdir(parents=True)
            for i in range(COUNTS[group][col]):
                file_id += ids.randint(1, 40)
                (group_dir / str(file_id)).write_bytes(writer.posting(i).encode("latin-1"))
            counts[split][group] = COUNTS[group][col]
    return counts


def readme_section(counts):
    rows = "\n".join(f"| `{g}` | {counts['train'][g]} | {counts['test'][g]} |"
                     for g in sorted(COUNTS))
    total_train, total_test = sum(counts["train"].values()), sum(counts["test"].values())
    return f"""<!-- 20ng:begin (written by data/sample/make_20ng.py) -->
## `20news-bydate/`: synthetic 20 Newsgroups sample

**Synthetic.** Every posting was generated by `data/sample/make_20ng.py` from small hand-written
vocabularies and sentence templates; no text comes from the real 20 Newsgroups corpus. It exists
so that the DOC demo, the tests and `tools/make_tiny_ernie.py` run offline. Scores on it say
nothing about scores on the real data (`python tools/download_data.py 20ng --dest DIR`).

Layout and format are those of the real `20news-bydate` archive:
`20news-bydate-{{train,test}}/<group>/<numeric file id>`, latin-1 encoded, each posting with
`From:`, `Subject:`, `Organization:` and `Lines:` headers, a blank line, then a body of 30-300
words. Each group has its own topic words, but half of the topic slots are filled with words
shared by all groups or taken from other groups, so the classes overlap. About a third of the
postings quote an earlier article (`In article <...>, ... writes:` then `>` or `|` lines) and
some end in a signature after a `--` line; names and bodies contain latin-1 characters
(é, ü, £, ...). Special cases:

- `20news-bydate-train/sci.med/`: the 6th posting has an empty body.
- `20news-bydate-test/rec.autos/`: the 3rd posting has an empty body.
- `20news-bydate-train/comp.graphics/`: the 12th posting is only a quote block, so its text is
  empty after `remove=("quotes",)`.

Regenerate (identical bytes) with `python data/sample/make_20ng.py`.

| group | train | test |
|---|---|---|
{rows}
| **total** | **{total_train}** | **{total_test}** |
<!-- 20ng:end -->
"""


def write_readme(out_dir, counts):
    """Replace the 20NG section of ``out_dir/README.md``, keeping any other section."""
    path = Path(out_dir) / "README.md"
    section = readme_section(counts)
    if path.exists():
        text = path.read_text(encoding="utf-8")
        begin, end = text.find("<!-- 20ng:begin"), text.find("<!-- 20ng:end -->")
        if begin >= 0 and end > begin:
            end += len("<!-- 20ng:end -->\n")
            text = text[:begin] + section + text[end:]
        else:
            text = text.rstrip("\n") + "\n\n" + section
    else:
        text = "# Bundled sample data\n\nSmall, synthetic data sets for offline demos and " \
               "tests. Each section says how its files were made.\n\n" + section
    path.write_text(text, encoding="utf-8")
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "data" / "sample"),
                   help="sample directory (default: data/sample in the repository)")
    a = p.parse_args(argv)
    counts = generate(a.out)
    readme = write_readme(a.out, counts)
    print(f"wrote {sum(counts['train'].values())} train and {sum(counts['test'].values())} "
          f"test postings to {Path(a.out) / SAMPLE_NAME} and updated {readme}")


if __name__ == "__main__":
    main()
