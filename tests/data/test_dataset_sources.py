"""The download catalog (data/dataset_sources.py): every file is https and pinned, and each
data set's files match what its reader expects."""
import re

from ernie_res.data.dataset_sources import DATASETS, SOURCES, Source


def test_source_table_pins_https_and_sha256():
    assert set(SOURCES) == set(DATASETS) == {"20ng", "conll2003", "semeval2010", "ptb"}
    for name, sources in SOURCES.items():
        for src in sources:
            assert src.url.startswith("https://"), src.url          # no plain http any more
            assert src.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", src.sha256), src
    # 20 Newsgroups: scikit-learn's https figshare copy and its pinned sha256; the plain-http
    # qwone.com URL is gone
    assert SOURCES["20ng"] == (Source(
        "https://ndownloader.figshare.com/files/5975967",
        "8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610",
        "20news-bydate.tar.gz"),)
    # every bundled source is pinned; CoNLL-2003's URLs name a commit, so the bytes are fixed
    assert [n for n, ss in SOURCES.items() if any(s.sha256 is None for s in ss)] == []
    assert all("/e577320ee6ed7417137e5309d370d9274009cc2d/" in s.url
               for s in SOURCES["conll2003"])
    for name, spec in DATASETS.items():
        if not spec.archive:   # plain files: each source's name is one expected file
            assert sorted(s.target_name for s in SOURCES[name]) == sorted(spec.expected)
        if spec.members:
            assert len(spec.members) == len(spec.expected)


def test_a_source_is_saved_under_its_url_basename_unless_named():
    assert Source("https://x.org/a/b/ptb.test.txt?raw=1", None).target_name == "ptb.test.txt"
    assert Source("https://x.org/files/5975967", None, "20ng.tar.gz").target_name == \
        "20ng.tar.gz"
    assert Source("https://x.org/", None).target_name == "x.org"
