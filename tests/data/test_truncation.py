import pytest

from ernie_res.data.truncation import chunk_windows, head_tail


def test_head_tail_keeps_first_and_last():
    ids = list(range(1000))
    out = head_tail(ids, 510, 128)
    assert len(out) == 510
    assert out[:128] == list(range(128))
    assert out[128:] == list(range(1000 - 382, 1000))


def test_head_tail_short_and_edge_cases():
    assert head_tail([1, 2, 3], 510, 128) == [1, 2, 3]
    assert head_tail(list(range(10)), 4, 4) == [0, 1, 2, 3]
    assert head_tail(list(range(10)), 4, 0) == [6, 7, 8, 9]
    with pytest.raises(ValueError, match=r"expected 0 <= head <= max_tokens \(4\), got head=5"):
        head_tail([1], 4, 5)


def test_chunks_cover_document_without_gaps():
    ids = list(range(23))
    w = chunk_windows(ids, 10, 10, 8)
    assert w == [ids[0:10], ids[10:20], ids[20:23]]
    assert sum(w, []) == ids


def test_chunks_overlap_and_cap():
    ids = list(range(30))
    w = chunk_windows(ids, 10, 5, 3)
    assert w == [ids[0:10], ids[5:15], ids[10:20]]
    assert all(len(x) <= 10 for x in w)
    w = chunk_windows(ids, 10, 5, 100)
    assert w[-1][-1] == 29 and len(w) == 5


def test_chunks_empty_doc_gives_one_window():
    assert chunk_windows([], 10, 10, 4) == [[]]
    with pytest.raises(ValueError, match="expected 1 <= stride <= max_tokens"):
        chunk_windows([1], 10, 11, 4)
