"""Fixtures of the task unit tests: the tiny ERNIE's tokenizer and a logger that records."""
import pytest


class RecordingLogger:
    """Stands in for the run logger: keeps every ``info`` line."""

    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)

    def text(self):
        return "\n".join(self.lines)


class RecordingVDL:
    """Stands in for ``engine/vdl.VDLWriter``: records ``(method, tag, step)`` of each call."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, method):
        def record(tag, *args):
            self.calls.append((method, tag, args[-1] if args else None))
        return record


@pytest.fixture
def logger():
    return RecordingLogger()


@pytest.fixture
def vdl():
    return RecordingVDL()


@pytest.fixture(scope="session")
def tokenizer(tiny_ernie):
    """The tiny ERNIE's tokenizer, shared: tests that change a tokenizer (REL's markers) load
    their own with ``load_backbone``."""
    from ernie_res.models.backbone import load_backbone

    return load_backbone(str(tiny_ernie))[1]
