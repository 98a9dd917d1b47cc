"""Inference inputs for relation classification: markup lines (with or without a SemEval ID),
JSON lines, duplicate ids, bad lines as error entries, and the ``check`` callback."""
import json

import pytest

from ernie_res.data.rel_inputs import read_rel_inputs


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_markup_lines_with_and_without_ids(tmp_path):
    path = write(tmp_path / "in.txt", [
        "The <e1>audits</e1> were about <e2>waste</e2>.",
        "",
        '8002\t"The <e2>company</e2> fabricates plastic <e1>chairs</e1>."',
        "  A <e1>puck</e1> hit the <e2>goalie</e2>  ",
    ])
    examples, errors = read_rel_inputs(path)
    assert errors == []
    assert examples == [
        {"id": "in.txt:1", "text": "The audits were about waste.", "e1": [4, 10],
         "e2": [22, 27], "line": 1},
        {"id": "in.txt:2", "line": 2, "blank": True},              # answered in place
        {"id": "8002", "text": "The company fabricates plastic chairs.", "e1": [31, 37],
         "e2": [4, 11], "line": 3},
        {"id": "in.txt:4", "text": "A puck hit the goalie", "e1": [2, 6], "e2": [15, 21],
         "line": 4}]
    for ex, (a, b) in zip([e for e in examples if not e.get("blank")], [("audits", "waste"), ("chairs", "company"),
                                     ("puck", "goalie")]):
        assert ex["text"][slice(*ex["e1"])] == a and ex["text"][slice(*ex["e2"])] == b


def test_jsonl_with_and_without_ids(tmp_path):
    recs = [{"text": "The audits were about waste.", "e1": [4, 10], "e2": [22, 27], "id": 7},
            {"text": "puck hit goalie", "e1": [0, 4], "e2": [9, 15]},
            {"text": "a b", "e1": [0, 1], "e2": [2, 3], "id": None}]
    path = write(tmp_path / "in.JSONL", [json.dumps(r) for r in recs])
    examples, errors = read_rel_inputs(path)
    assert errors == []
    assert [(e["id"], e["line"]) for e in examples] == [("7", 1), ("in.JSONL:2", 2),
                                                        ("in.JSONL:3", 3)]
    assert examples[1] == {"id": "in.JSONL:2", "text": "puck hit goalie", "e1": [0, 4],
                           "e2": [9, 15], "line": 2}


def test_jsonl_text_with_markup_and_no_spans(tmp_path):
    """What ``Predictor.predict`` makes of a string: ``{"text": "<e1>..</e1> .."}``."""
    recs = [{"text": "The <e1>audits</e1> were about <e2>waste</e2>.", "id": "a"},
            {"text": "no markup here"}]
    examples, errors = read_rel_inputs(write(tmp_path / "in.jsonl",
                                             [json.dumps(r) for r in recs]))
    assert examples == [{"id": "a", "text": "The audits were about waste.", "e1": [4, 10],
                         "e2": [22, 27], "line": 1}]
    assert [e["id"] for e in errors] == ["in.jsonl:2"] and "<e1>" in errors[0]["error"]


def test_bad_lines_become_errors_with_file_and_line_and_the_rest_is_read(tmp_path):
    path = write(tmp_path / "in.txt", [
        "The <e1>audits</e1> were about <e2>waste</e2>.",
        "no markup at all",
        "<e1>a</e1> and <e2>b</e2> and <e2>c</e2>",
        "A <e1>puck</e1> hit the <e2>goalie</e2>",
    ])
    examples, errors = read_rel_inputs(path)
    assert [e["line"] for e in examples] == [1, 4]
    assert [(e["id"], e["line"]) for e in errors] == [("in.txt:2", 2), ("in.txt:3", 3)]
    assert errors[0]["error"].startswith(f"{path}:2: expected exactly one <e1>, got 0")
    assert errors[1]["error"].startswith(f"{path}:3: expected exactly one <e2>, got 2")
    assert "parse_marked" not in errors[0]["error"]


def test_bad_jsonl_lines(tmp_path):
    path = write(tmp_path / "in.jsonl", [
        '{"text": "a b", "e1": [0, 1]',
        '["text", "e1", "e2"]',
        '{"text": "a b", "e1": [0, 1]}',
        '{"text": "a b", "e1": [0, 2], "e2": [1, 3]}',
        '{"text": "a b", "e1": [0, 1], "e2": [2, 3], "id": "ok"}',
    ])
    examples, errors = read_rel_inputs(path)
    assert [e["id"] for e in examples] == ["ok"]
    assert [e["line"] for e in errors] == [1, 2, 3, 4]
    msgs = [e["error"] for e in errors]
    assert msgs[0].startswith(f"{path}:1: expected a JSON object, got invalid JSON")
    markup = " (or a text with <e1> and <e2> markup)"
    assert msgs[1] == f"{path}:2: expected an object with text, e1 and e2{markup}, got list"
    assert msgs[2] == f"{path}:3: expected an object with text, e1 and e2{markup}, got " \
                      f"['e1', 'text']"
    assert msgs[3] == f"{path}:4: expected non-overlapping e1 and e2, got [0, 2] and [1, 3]"


def test_duplicate_ids_are_allowed_in_file_order(tmp_path):
    """Output line N answers input line N whatever the ids (issue #10, section 5)."""
    path = write(tmp_path / "in.txt", [
        '5\t"<e1>a</e1> x <e2>b</e2>"',
        '6\t"<e1>a</e1> y <e2>b</e2>"',
        '5\t"<e1>a</e1> z <e2>b</e2>"',
    ])
    examples, errors = read_rel_inputs(path)
    assert errors == []
    assert [(e["id"], e["text"], e["line"]) for e in examples] == [
        ("5", "a x b", 1), ("6", "a y b", 2), ("5", "a z b", 3)]


def test_check_turns_a_value_error_into_an_error_entry(tmp_path):
    path = write(tmp_path / "in.txt", ["<e1>a</e1> near <e2>b</e2>",
                                       "<e1>a</e1> far far far <e2>b</e2>",
                                       "<e1>a</e1> near again <e2>b</e2>"])
    seen = []

    def check(ex):
        seen.append(ex["id"])
        if "far" in ex["text"]:
            raise ValueError("entities too far apart; raise Data.max_seq_len (now 8)")

    examples, errors = read_rel_inputs(path, check=check)
    assert seen == ["in.txt:1", "in.txt:2", "in.txt:3"]
    assert [e["id"] for e in examples] == ["in.txt:1", "in.txt:3"]
    assert errors == [{"id": "in.txt:2", "line": 2,
                       "error": f"{path}:2: entities too far apart; raise Data.max_seq_len "
                                f"(now 8)"}]

    def broken(ex):
        raise KeyError("not a ValueError")

    with pytest.raises(KeyError):                                  # only ValueError is data
        read_rel_inputs(path, check=broken)


def test_an_id_refused_by_check_can_be_used_again(tmp_path):
    path = write(tmp_path / "in.txt", ['9\t"<e1>a</e1> far <e2>b</e2>"',
                                       '9\t"<e1>a</e1> near <e2>b</e2>"'])

    def check(ex):
        if "far" in ex["text"]:
            raise ValueError("too far")

    examples, errors = read_rel_inputs(path, check=check)
    assert [(e["id"], e["line"]) for e in examples] == [("9", 2)]
    assert [(e["id"], e["line"]) for e in errors] == [("9", 1)]


def test_missing_file_and_byte_order_mark(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_rel_inputs(tmp_path / "nope.txt")
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff<e1>a</e1> x <e2>b</e2>\n".encode("utf-8"))
    examples, errors = read_rel_inputs(path)
    assert errors == [] and examples[0]["text"] == "a x b"
