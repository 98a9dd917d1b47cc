"""CoNLL-2003 reader: documents, sentence ids, IOB1 -> IOB2/BIOES, and every error path."""
import pytest

from ernie_res.data.conll import read_conll, tag_labels
from ernie_res.data.errors import DataFormatError

ENG = """-DOCSTART- -X- -X- O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- O O

S1 NNP I-NP I-PER
S2 NNP I-NP B-PER
in IN I-PP O
Kraków NNP I-NP I-LOC"""


def write(tmp_path, text, name="eng.sample", data=None):
    path = tmp_path / name
    if data is None:
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(data)
    return str(path)


def test_reads_documents_sentences_and_converts_iob1(tmp_path):
    examples = read_conll(write(tmp_path, ENG))
    assert examples == [
        {"id": "eng.sample:3", "words": ["EU", "rejects", "German", "call"],
         "tags": ["B-ORG", "O", "B-MISC", "O"], "orig_tags": ["I-ORG", "O", "I-MISC", "O"],
         "doc_id": 0, "sent_index": 0},
        {"id": "eng.sample:8", "words": ["Peter", "Blackburn"], "tags": ["B-PER", "I-PER"],
         "orig_tags": ["I-PER", "I-PER"], "doc_id": 0, "sent_index": 1},
        {"id": "eng.sample:13", "words": ["S1", "S2", "in", "Kraków"],
         "tags": ["B-PER", "B-PER", "O", "B-LOC"], "orig_tags": ["I-PER", "B-PER", "O", "I-LOC"],
         "doc_id": 1, "sent_index": 0},
    ]


def test_bioes_scheme(tmp_path):
    examples = read_conll(write(tmp_path, ENG), scheme="BIOES")
    assert [e["tags"] for e in examples] == [["S-ORG", "O", "S-MISC", "O"],
                                             ["B-PER", "E-PER"],
                                             ["S-PER", "S-PER", "O", "S-LOC"]]


def test_two_columns_no_docstart_crlf_and_bioes_input(tmp_path):
    text = "John B-PER\r\nSmith E-PER\r\n\r\n\r\nParis S-LOC\r\n"
    examples = read_conll(write(tmp_path, text, "two.txt"))
    assert [(e["id"], e["doc_id"], e["sent_index"]) for e in examples] == [("two.txt:1", 0, 0),
                                                                           ("two.txt:5", 0, 1)]
    assert examples[0]["tags"] == ["B-PER", "I-PER"] and examples[1]["tags"] == ["B-LOC"]
    assert examples[0]["orig_tags"] == ["B-PER", "E-PER"]


def test_words_are_verbatim_and_tabs_separate(tmp_path):
    examples = read_conll(write(tmp_path, "a\u00a0b\tO\n\"\tO\n"))
    assert examples[0]["words"] == ["a\u00a0b", '"']


def test_sentences_before_first_docstart_are_document_zero(tmp_path):
    text = "a O\n\n-DOCSTART- O\n\nb O\n\n-DOCSTART- O\n-DOCSTART- O\n\nc O\n"
    examples = read_conll(write(tmp_path, text))
    assert [(e["words"][0], e["doc_id"], e["sent_index"]) for e in examples] == [
        ("a", 0, 0), ("b", 1, 0), ("c", 3, 0)]   # the empty document 2 keeps its id


def test_tag_labels(tmp_path):
    examples = read_conll(write(tmp_path, ENG))
    assert tag_labels(examples) == ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-PER"]
    bioes = read_conll(write(tmp_path, ENG), scheme="BIOES")
    assert tag_labels(bioes, scheme="BIOES") == ["O"] + [f"{p}-{t}" for p in "BEIS"
                                                         for t in ("LOC", "MISC", "ORG", "PER")]
    assert tag_labels([]) == ["O"]
    with pytest.raises(ValueError, match=r"tag_labels: expected examples with a 'tags' list, "
                                         r"example 0 has keys \['words'\]"):
        tag_labels([{"words": []}])
    with pytest.raises(ValueError, match=r"tag_labels: expected scheme in"):
        tag_labels(examples, scheme="IOE")


@pytest.mark.parametrize("text,line,message", [
    ("EU NNP I-NP I-ORG\nrejects VBZ O\n", 2,
     "expected 4 fields like the first non-blank line, got 3"),
    ("EU NNP I-NP I-ORG\nrejects  VBZ I-VP O\n", 2,
     "expected non-empty fields separated by single spaces, got an empty field 2 in "
     "'rejects  VBZ I-VP O'"),
    ("EU NNP I-NP I-ORG \n", 1,
     "expected non-empty fields separated by single spaces, got an empty field 5 in "
     "'EU NNP I-NP I-ORG '"),
    ("EU I-ORG\nx X-PER\n", 2, "expected a tag 'O' or B-/I-/E-/S- followed by a type, "
                               "got 'X-PER'"),
    ("EU B-\n", 1, "expected a tag 'O' or B-/I-/E-/S- followed by a type, got 'B-'"),
    ("EU per\n", 1, "expected a tag 'O' or B-/I-/E-/S- followed by a type, got 'per'"),
    ("EU\n", 1, "expected at least 2 fields (word ... tag), got 1"),
    ("a O\nb O\n-DOCSTART- O\n", 3,
     "expected a blank line before -DOCSTART-, got it inside the sentence starting at line 1"),
])
def test_bad_lines_raise_with_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(DataFormatError) as info:
        read_conll(path)
    assert info.value.line == line
    assert str(info.value) == f"{path}:{line}: {message}"


def test_undecodable_bytes(tmp_path):
    path = write(tmp_path, None, data=b"a O\nb\xff O\n")
    with pytest.raises(DataFormatError, match=r":2: expected utf-8 text, got undecodable byte 0xff "
                                              r"at column 2$"):
        read_conll(path)
    assert read_conll(path, encoding="latin-1")[0]["words"] == ["a", "b\u00ff"]


def test_unknown_scheme():
    with pytest.raises(ValueError, match=r"read_conll: expected scheme in \['IOB2', 'BIOES'\], "
                                         r"got 'IOB1'"):
        read_conll("unused", scheme="IOB1")
