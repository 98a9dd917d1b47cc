"""SemEval-2010 Task 8 reader: both file formats, the key file, every error path, the sample."""
import re
from pathlib import Path

import pytest

from ernie_res.data.errors import DataFormatError
from ernie_res.data.semeval import (LABELS, RELATIONS, read_key, read_semeval, split_label,
                                    summary)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "semeval2010"

FULL = ('8001\t"The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."\n'
        "Message-Topic(e1,e2)\n"
        "Comment: Assuming an audit = an audit document.\n"
        "\n"
        '8002\t"The <e1>company</e1> fabricates plastic <e2>chairs</e2>."\n'
        "Product-Producer(e2,e1)\n"
        "Comment:\n"
        "\n")
EXPECTED = [
    {"id": "8001", "text": "The most common audits were about waste and recycling.",
     "e1": [16, 22], "e2": [34, 39], "label": "Message-Topic(e1,e2)",
     "comment": "Assuming an audit = an audit document.", "line": 1},
    {"id": "8002", "text": "The company fabricates plastic chairs.", "e1": [4, 11],
     "e2": [31, 37], "label": "Product-Producer(e2,e1)", "comment": "", "line": 5},
]


def write(tmp_path, text, name="TRAIN_FILE.TXT", crlf=False, bom=False):
    path = tmp_path / name
    data = (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return str(path)


def test_labels_and_relations():
    assert len(RELATIONS) == 9 and len(LABELS) == 19 and LABELS[0] == "Other"
    assert LABELS[1:3] == ("Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)")
    assert LABELS[-1] == "Product-Producer(e2,e1)" and len(set(LABELS)) == 19
    assert split_label("Entity-Origin(e2,e1)") == ("Entity-Origin", "(e2,e1)")
    assert split_label("Other") == ("Other", None)
    with pytest.raises(ValueError, match=r"split_label: expected one of the 19 SemEval labels, "
                                         r"got 'Other\(e1,e2\)'"):
        split_label("Other(e1,e2)")


@pytest.mark.parametrize("crlf, bom", [(False, False), (True, False), (True, True)])
def test_reads_full_format(tmp_path, crlf, bom):
    examples = read_semeval(write(tmp_path, FULL, crlf=crlf, bom=bom))
    assert examples == EXPECTED
    for ex in examples:
        assert ex["text"][slice(*ex["e1"])] in ("audits", "company")


def test_no_final_blank_line_and_trailing_blank_lines(tmp_path):
    assert read_semeval(write(tmp_path, FULL.rstrip("\n"))) == EXPECTED
    assert read_semeval(write(tmp_path, FULL + "\n\n  \n")) == EXPECTED


def test_inner_quotes_unquoted_sentence_and_trailing_spaces(tmp_path):
    text = ('5\t"He said "<e1>fire</e1>" and ran to the <e2>door</e2>." \n'
            "Other  \nComment:\n\n"
            "6\tNo <e1>quotes</e1> at all <e2>here</e2>\nOther\nComment:\n")
    examples = read_semeval(write(tmp_path, text))
    assert examples[0]["text"] == 'He said "fire" and ran to the door.'
    assert examples[0]["label"] == "Other"
    assert examples[1]["text"] == "No quotes at all here"


SENTENCES = ('8001\t"The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."\n'
             '8002\t"The <e1>company</e1> fabricates plastic <e2>chairs</e2>."\n')
KEY = "8002\tProduct-Producer(e2,e1)\n8001\tMessage-Topic(e1,e2)\n"


def test_sentence_file_with_and_without_key(tmp_path):
    path = write(tmp_path, SENTENCES, "TEST_FILE.TXT", crlf=True)
    key = write(tmp_path, KEY, "TEST_FILE_KEY.TXT", crlf=True)
    unlabelled = read_semeval(path)
    assert [(e["id"], e["label"], e["line"], e["comment"]) for e in unlabelled] == [
        ("8001", None, 1, None), ("8002", None, 2, None)]
    labelled = read_semeval(path, key_path=key)
    assert [(e["label"], e["line"]) for e in labelled] == [(x["label"], i + 1)
                                                           for i, x in enumerate(EXPECTED)]
    assert [(e["text"], e["e1"], e["e2"]) for e in labelled] == [(x["text"], x["e1"], x["e2"])
                                                                 for x in EXPECTED]
    assert read_key(key) == {"8002": "Product-Producer(e2,e1)", "8001": "Message-Topic(e1,e2)"}
    one = write(tmp_path, SENTENCES.splitlines()[0] + "\n", "ONE.TXT")   # one line: sentences
    assert read_semeval(one)[0]["label"] is None


def test_full_file_with_agreeing_key(tmp_path):
    path = write(tmp_path, FULL, "TEST_FILE_FULL.TXT")
    key = write(tmp_path, KEY, "TEST_FILE_KEY.TXT")
    assert read_semeval(path, key_path=key) == EXPECTED


def test_explicit_format(tmp_path):
    path = write(tmp_path, SENTENCES, "TEST_FILE.TXT")
    with pytest.raises(DataFormatError, match="TEST_FILE.TXT:2: expected a label line after "
                                              "sentence 8001, got another sentence line"):
        read_semeval(path, fmt="full")
    with pytest.raises(DataFormatError, match=r"TRAIN_FILE.TXT:2: expected 'ID<TAB>\"sentence"
                                              r"\"', got 'Message-Topic\(e1,e2\)'"):
        read_semeval(write(tmp_path, FULL), fmt="sentences")
    with pytest.raises(ValueError, match=r"read_semeval: expected fmt in \['auto', 'full', "
                                         r"'sentences'\], got 'tsv'"):
        read_semeval(path, fmt="tsv")


def replace_line(text, lineno, new):
    lines = text.split("\n")
    lines[lineno - 1] = new
    return "\n".join(lines)


S5 = '8002\t"The <e1>company</e1> fabricates plastic <e2>chairs</e2>."'


@pytest.mark.parametrize("lineno, new, error", [
    (5, '8002\t"The company fabricates plastic <e2>chairs</e2>."',
     "5: expected exactly one <e1>, got 0"),
    (5, '8002\t"The <e1>company</e1> fabricates plastic <e2>chairs."',
     "5: expected exactly one </e2>, got 0"),
    (5, '8002\t"The <e1>co<e2>mpany</e1> fabricates plastic chairs</e2>."',
     "5: expected e1 and e2 not nested or overlapping, got tags in the order "
     "<e1> <e2> </e1> </e2>"),
    (5, '8002\t"The <e1>company</e1> <e1>fabricates</e1> plastic <e2>chairs</e2>."',
     "5: expected exactly one <e1>, got 2"),
    (5, '8002\t"The <e1>company</e1> fabricates plastic <e2>chairs</e2>.',
     "5: expected the sentence in double quotes, got"),
    (5, 'x8002\t"The <e1>company</e1> fabricates plastic <e2>chairs</e2>."',
     "5: expected a numeric sentence ID, got 'x8002'"),
    (5, '8002 "The <e1>company</e1> fabricates plastic <e2>chairs</e2>."',
     "5: expected 'ID<TAB>\"sentence\"', got '8002 \"The"),
    (5, '8001\t"The <e1>company</e1> fabricates plastic <e2>chairs</e2>."',
     "5: expected unique IDs, got ID 8001 again (first on line 1)"),
    (6, "Product-Producer(e3,e1)",
     "6: expected one of the 19 SemEval labels (e.g. 'Cause-Effect(e1,e2)' or 'Other'), got "
     "'Product-Producer(e3,e1)'"),
    (6, "other", "6: expected one of the 19 SemEval labels"),
    (7, "Comments: none", "7: expected a 'Comment:' line, got 'Comments: none'"),
    (3, "", "3: expected a 'Comment:' line, got ''"),
    (4, "Comment: a second comment", "4: expected a blank line after the Comment line, got "
                                     "'Comment: a second comment'"),
    (4, S5, "4: expected a blank line after the Comment line, got '8002"),
])
def test_malformed_full_file(tmp_path, lineno, new, error):
    path = write(tmp_path, replace_line(FULL, lineno, new), crlf=True)
    with pytest.raises(DataFormatError) as err:
        read_semeval(path)
    assert str(err.value).startswith(f"{path}:{error}")
    assert err.value.line == lineno


def test_broken_blocks_at_end_of_file_and_extra_blank_lines(tmp_path):
    path = write(tmp_path, FULL + S5.replace("8002", "8003") + "\nOther\n")
    with pytest.raises(DataFormatError, match=r":10: expected a 'Comment:' line for sentence "
                                              r"8003 \(line 9\), got the end of the file"):
        read_semeval(path)
    path = write(tmp_path, FULL + "\n" + S5.replace("8002", "8003") + "\nOther\nComment:\n")
    with pytest.raises(DataFormatError, match=r":9: expected 'ID<TAB>\"sentence\"', got ''"):
        read_semeval(path)
    path = write(tmp_path, FULL + S5.replace("8002", "8003") + "\n")
    with pytest.raises(DataFormatError, match=r":9: expected a label line for sentence 8003 "
                                              r"\(line 9\), got the end of the file"):
        read_semeval(path)
    missing_label = FULL.replace("Product-Producer(e2,e1)\n", "")
    with pytest.raises(DataFormatError, match=r":6: expected one of the 19 SemEval labels .* got "
                                              r"'Comment:'"):
        read_semeval(write(tmp_path, missing_label))


def test_empty_and_undecodable_files(tmp_path):
    path = write(tmp_path, "\r\n\r\n")
    with pytest.raises(DataFormatError, match="TRAIN_FILE.TXT: expected at least one example, "
                                              "got an empty file"):
        read_semeval(path)
    path = tmp_path / "BAD.TXT"
    path.write_bytes(FULL.encode() + b'8003\t"caf\xe9 <e1>a</e1> <e2>b</e2>"\n')
    with pytest.raises(DataFormatError, match=r"BAD.TXT:9: expected utf-8 text, got undecodable "
                                              r"byte 0xe9 at column 10"):
        read_semeval(str(path))


@pytest.mark.parametrize("key, where, error", [
    ("8001\tMessage-Topic(e1,e2)\n", "TEST_FILE.TXT:2",
     "expected ID 8002 in key file TEST_FILE_KEY.TXT, got no line for it"),
    (KEY + "8003\tOther\n", "TEST_FILE_KEY.TXT:3",
     "expected only IDs of TEST_FILE.TXT, got extra ID 8003"),
    (KEY + "8001\tOther\n", "TEST_FILE_KEY.TXT:3",
     "expected unique IDs, got ID 8001 again (first on line 2)"),
    ("8002 Other\n", "TEST_FILE_KEY.TXT:1", "expected 'ID<TAB>label', got '8002 Other'"),
    ("a8002\tOther\n", "TEST_FILE_KEY.TXT:1", "expected a numeric ID, got 'a8002'"),
    ("8002\tCause-Effect\n", "TEST_FILE_KEY.TXT:1",
     "expected one of the 19 SemEval labels (e.g. 'Cause-Effect(e1,e2)' or 'Other'), got "
     "'Cause-Effect'"),
    ("", "TEST_FILE_KEY.TXT", "expected at least one 'ID<TAB>label' line, got an empty file"),
])
def test_bad_key_files(tmp_path, key, where, error):
    path = write(tmp_path, SENTENCES, "TEST_FILE.TXT")
    key_path = write(tmp_path, key, "TEST_FILE_KEY.TXT")
    with pytest.raises(DataFormatError) as err:
        read_semeval(path, key_path=key_path)
    assert str(err.value) == f"{tmp_path}/{where}: {error}"


def test_key_disagreeing_with_full_file(tmp_path):
    path = write(tmp_path, FULL, "TEST_FILE_FULL.TXT")
    key_path = write(tmp_path, KEY.replace("(e2,e1)", "(e1,e2)"), "TEST_FILE_KEY.TXT")
    with pytest.raises(DataFormatError) as err:
        read_semeval(path, key_path=key_path)
    assert str(err.value) == (f"{key_path}:1: expected label 'Product-Producer(e2,e1)' for ID "
                              f"8002 as on line 6 of TEST_FILE_FULL.TXT, got "
                              f"'Product-Producer(e1,e2)'")


def test_summary(tmp_path):
    text = summary(read_semeval(write(tmp_path, FULL)), "TRAIN_FILE.TXT")
    lines = text.split("\n")
    assert lines[0] == "TRAIN_FILE.TXT: 2 examples (official: 8000)"
    assert len(lines) == 2 + 19 + 1
    assert re.fullmatch(r"Message-Topic\(e1,e2\) +1", lines[2 + LABELS.index(
        "Message-Topic(e1,e2)")])
    assert re.fullmatch(r"Other +0", lines[2])
    assert re.fullmatch(r"relations \(not Other\) +2", lines[-1])
    unlabelled = summary(read_semeval(write(tmp_path, SENTENCES, "TEST_FILE.TXT")))
    assert unlabelled.startswith("2 examples\n") and re.search(r"\(no label\) +2", unlabelled)
    with pytest.raises(ValueError, match="summary: expected SemEval labels, got 'X' in example 0"):
        summary([{"label": "X"}])


def test_bundled_sample_is_complete_and_crlf():
    train = read_semeval(SAMPLE / "TRAIN_FILE.TXT")
    test = read_semeval(SAMPLE / "TEST_FILE_FULL.TXT")
    assert len(train) == 150 and len(test) == 60
    assert {e["label"] for e in train} == set(LABELS) == {e["label"] for e in test}
    assert train[0]["id"] == "1" and test[0]["id"] == "8001"
    raw = (SAMPLE / "TRAIN_FILE.TXT").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") == 4 * 150
    for ex in train + test:                  # e1 always comes first, as in the real data
        assert ex["e1"][1] <= ex["e2"][0]
