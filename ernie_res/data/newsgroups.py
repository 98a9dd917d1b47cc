"""Reader for the 20 Newsgroups corpus in its ``20news-bydate`` layout.

Source: Ken Lang, "NewsWeeder: Learning to Filter Netnews", ICML 1995; the "bydate" split
(train and test separated by posting date, duplicates and most headers removed) is the one
distributed by Jason Rennie at http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz::

    ROOT/20news-bydate-train/<group>/<file id>
    ROOT/20news-bydate-test/<group>/<file id>

Each file is one posting encoded as latin-1. ``remove`` strips the parts of a posting that let a
classifier cheat, with the same meaning as scikit-learn's ``fetch_20newsgroups(remove=...)``
(this is our own implementation of that behaviour, applied in the order headers, footers,
quotes):

* ``headers``: everything up to and including the first blank line (``"\\n\\n"``); a posting
  with no blank line is all header and becomes ``""``.
* ``footers``: the signature block after the last line made only of dashes (``--``, ``-- ``,
  ``-----``), when there is such a line and it is not the first line. Unlike scikit-learn,
  a blank line is not treated as a separator (scikit-learn's ``"".strip("-") == ""`` makes it
  drop the last paragraph of any posting that has one).
* ``quotes``: lines quoted with ``>`` or ``|`` and lines that introduce a quote
  ("... writes:", "... writes in", "... wrote:", "... says:", "... said:",
  "In article <...>", "Quoted from").

Documents that are empty, or become empty after stripping, are kept with ``text == ""``.
Hidden entries (names starting with ``.``: ``.DS_Store``, AppleDouble ``._*`` files, ``.git/``)
are neither groups nor postings: they are skipped wherever they are and counted through ``log``.
20NG bydate has no dev split; `data.splits.split_dev` holds out a stratified part of train.
"""
import re
from pathlib import Path

from ernie_res.data.errors import DataFormatError

SPLIT_DIRS = {"train": "20news-bydate-train", "test": "20news-bydate-test"}
REMOVABLE = ("headers", "footers", "quotes")
DOWNLOAD_HINT = "python tools/download_data.py 20ng --dest DIR"

_QUOTE_LINE = re.compile(
    r"(writes in|writes:|wrote:|says:|said:|^In article|^Quoted from|^\||^>)")


def strip_headers(text):
    """Drop everything up to and including the first blank line (all of it when there is none)."""
    _, sep, body = text.partition("\n\n")
    return body if sep else ""


def strip_footer(text):
    """Drop everything after the last line that is blank or made only of dashes.

    This is scikit-learn's ``remove=("footers",)`` rule exactly: a blank line counts as a
    signature separator too, so the last paragraph of a posting usually goes. Published
    "no headers, footers, quotes" 20NG numbers use this rule, so we keep it. Nothing is
    removed when the only such line is the first one.
    """
    lines = text.strip().split("\n")
    i = len(lines) - 1
    while i >= 0 and lines[i].strip().strip("-"):
        i -= 1
    return "\n".join(lines[:i]) if i > 0 else text


def strip_quotes(text):
    """Drop lines quoted with ``>``/``|`` and lines introducing a quote ("... writes:")."""
    return "\n".join(line for line in text.split("\n") if not _QUOTE_LINE.search(line))


_STRIPPERS = {"headers": strip_headers, "footers": strip_footer, "quotes": strip_quotes}


def _check_remove(remove):
    if isinstance(remove, str):
        remove = (remove,)
    remove = tuple(remove)
    unknown = [r for r in remove if r not in REMOVABLE]
    if unknown:
        raise ValueError(f"remove: expected a subset of {list(REMOVABLE)}, got unknown "
                         f"entr{'y' if len(unknown) == 1 else 'ies'} {unknown}")
    return set(remove)


def clean_posting(text, remove=REMOVABLE):
    """Apply the ``remove`` strippers in scikit-learn's order: headers, footers, quotes."""
    wanted = _check_remove(remove)
    for name in REMOVABLE:
        if name in wanted:
            text = _STRIPPERS[name](text)
    return text


def _file_order(path):
    """Numeric file ids in numeric order first, then any other names alphabetically."""
    name = path.name
    return (0, int(name), name) if name.isdigit() else (1, 0, name)


def _split_dir(root, split):
    if split not in SPLIT_DIRS:
        raise ValueError(f"split: expected one of {sorted(SPLIT_DIRS)}, got {split!r}")
    root = Path(root)
    split_dir = root / SPLIT_DIRS[split]
    if not root.is_dir():
        raise FileNotFoundError(
            f"20 Newsgroups root directory {root} does not exist (expected {split_dir}/"
            f"<group>/<file id>); `{DOWNLOAD_HINT}` fetches it")
    if not split_dir.is_dir():
        raise FileNotFoundError(
            f"20 Newsgroups {split} split not found: expected directory {split_dir}/"
            f"<group>/<file id>; `{DOWNLOAD_HINT}` fetches it")
    return split_dir


def _visible(entries, skipped, prefix=""):
    """The entries whose names do not start with ``.``; the others are added to ``skipped``."""
    out = []
    for p in entries:
        if p.name.startswith("."):
            skipped.append(prefix + p.name)
        else:
            out.append(p)
    return out


def read_20ng(root, split, remove=REMOVABLE, log=None):
    """Read one split of ``20news-bydate``.

    Args:
        root (str | Path): directory holding ``20news-bydate-train/`` and ``20news-bydate-test/``.
        split (str): ``"train"`` or ``"test"``.
        remove (Iterable[str]): any subset of ``("headers", "footers", "quotes")``.
        log (callable, optional): receives one line counting the hidden entries skipped
            (``"<split dir>: skipped N hidden entries (names starting with '.', e.g. ...)"``),
            when there are any.

    Returns:
        list[dict]: ``{"id": "<group>/<file id>", "text": str, "label": "<group>"}`` sorted by
        group, then by numeric file id. Empty documents are kept with ``text == ""``.

    Raises:
        ValueError: unknown ``split`` or ``remove`` entry.
        FileNotFoundError: ``root`` or the split directory is missing.
        DataFormatError: the split directory has no group folders, a file sits directly in the
            split directory, a group folder holds a sub-folder or no documents at all.
    """
    wanted = _check_remove(remove)
    split_dir = _split_dir(root, split)
    skipped = []
    entries = _visible(sorted(split_dir.iterdir(), key=lambda p: p.name), skipped)
    stray = [p for p in entries if not p.is_dir()]
    if stray:
        raise DataFormatError(stray[0], None, f"expected only group folders in {split_dir}, "
                              f"got a file outside any group folder")
    if not entries:
        raise DataFormatError(split_dir, None, "expected one folder per newsgroup "
                              "(e.g. comp.graphics/), got no group folders")
    examples = []
    for group_dir in entries:
        files = _visible(sorted(group_dir.iterdir(), key=_file_order), skipped,
                         f"{group_dir.name}/")
        if not files:
            raise DataFormatError(group_dir, None, "expected postings in this group folder, "
                                  "got an empty folder")
        for path in files:
            if not path.is_file():
                raise DataFormatError(path, None, "expected one file per posting inside the "
                                      "group folder, got a sub-folder")
            text = path.read_bytes().decode("latin-1").replace("\r\n", "\n")
            examples.append({"id": f"{group_dir.name}/{path.name}",
                             "text": clean_posting(text, tuple(wanted)),
                             "label": group_dir.name})
    if skipped and log is not None:
        log(f"{split_dir}: skipped {len(skipped)} hidden "
            f"{'entry' if len(skipped) == 1 else 'entries'} (names starting with '.', e.g. "
            f"{', '.join(skipped[:3])})")
    return examples
