"""Run logging: standard error only, idempotent set-up, the user's handlers left alone, the
log file handler removed after its block, warnings only on ranks other than 0."""
import logging

import pytest

from ernie_res.utils.log import NAME, get_logger, log_to_file


def _is_pytests(handler):
    """pytest >= 8 attaches its capture handlers to every non-propagating logger."""
    return type(handler).__module__.startswith("_pytest")


@pytest.fixture(autouse=True)
def clean_logger():
    """Each test starts without our console handler and leaves the logger as it found it."""
    logger = logging.getLogger(NAME)
    saved = ([h for h in logger.handlers if not _is_pytests(h)], logger.level,
             logger.propagate)
    for h in saved[0]:
        logger.removeHandler(h)
    yield logger
    for h in list(logger.handlers):
        logger.removeHandler(h)
    for h in saved[0]:
        logger.addHandler(h)
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def console_handlers(logger):
    """Stream handlers other than pytest's."""
    return [h for h in logger.handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
            and not _is_pytests(h)]


def test_logs_go_to_stderr_only(capsys):
    get_logger().info("hello from the logger")
    out, err = capsys.readouterr()
    assert out == ""
    assert "INFO hello from the logger" in err and err.startswith("[")


def test_idempotent_one_console_handler(capsys):
    for _ in range(5):
        logger = get_logger()
    assert logger is logging.getLogger(NAME) and not logger.propagate
    assert len(console_handlers(logger)) == 1
    logger.info("once")
    assert capsys.readouterr().err.count("once") == 1


def test_a_foreign_handler_stays(capsys):
    logger = logging.getLogger(NAME)
    records = []
    foreign = logging.StreamHandler()
    foreign.emit = records.append
    logger.addHandler(foreign)
    get_logger()
    get_logger()
    assert foreign in logger.handlers
    assert len(console_handlers(logger)) == 2                  # the user's and ours
    get_logger().info("seen by both")
    assert [r.getMessage() for r in records] == ["seen by both"]
    assert capsys.readouterr().err.count("seen by both") == 1


def test_log_to_file_writes_and_removes_its_handler(tmp_path, capsys):
    path = tmp_path / "run" / "train.log"                      # the folder is created
    before = list(get_logger().handlers)
    with log_to_file(path) as logger:
        assert len(logger.handlers) == len(before) + 1
        logger.info("to the file")
    assert logging.getLogger(NAME).handlers == before
    assert "INFO to the file" in path.read_text(encoding="utf-8")
    get_logger().info("after the block")
    assert "after the block" not in path.read_text(encoding="utf-8")
    assert "after the block" in capsys.readouterr().err
    with log_to_file(path) as logger:                          # appends
        logger.info("second run")
    text = path.read_text(encoding="utf-8")
    assert "to the file" in text and "second run" in text


def test_log_to_file_removes_its_handler_on_error(tmp_path):
    before = list(get_logger().handlers)
    with pytest.raises(KeyError):
        with log_to_file(tmp_path / "x.log"):
            raise KeyError("boom")
    assert logging.getLogger(NAME).handlers == before


def test_other_ranks_log_warnings_only_and_write_no_file(tmp_path, capsys):
    with log_to_file(tmp_path / "rank1.log", rank=1) as logger:
        logger.info("an info line")
        logger.warning("a warning line")
    err = capsys.readouterr().err
    assert "an info line" not in err and "WARNING a warning line" in err
    assert not (tmp_path / "rank1.log").exists()
    get_logger(0).info("rank 0 again")
    assert "rank 0 again" in capsys.readouterr().err
