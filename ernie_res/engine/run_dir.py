"""An output directory is the user's data: claim it before a run writes into it.

* **No silent replacement.** A new run into a directory that already holds a checkpoint
  (``best/`` or ``latest/``) is refused unless it resumes that run or
  ``Global.overwrite_output_dir`` is true (the PaddleNLP / Hugging Face convention). With
  overwriting, the earlier run's checkpoints, VisualDL logs and trainer state are removed
  first, and the log says what was removed.
* **One writer at a time.** ``RunLock`` holds an exclusive ``flock`` on ``OUT/.lock`` for the
  whole run; a second run into the same directory fails at once, naming the process that
  holds it. The kernel drops the lock when the process dies, however it dies, so a crash
  never leaves the directory locked.
"""
import os
import shutil
import time
from pathlib import Path

try:
    import fcntl
except ImportError:            # not POSIX: runs are not locked (see RunLock)
    fcntl = None

CHECKPOINTS = ("best", "latest")
#: what an earlier run leaves in OUT besides config.yaml and train.log
RUN_FILES = ("best", "latest", "best.tmp", "latest.tmp", "best.old", "latest.old", "vdl",
             "trainer_state.json")


class RunDirError(ValueError):
    """The output directory cannot be used for this run (the message says what to do)."""


def earlier_checkpoints(out):
    out = Path(out)
    return [name for name in CHECKPOINTS
            if any((out / f"{name}{s}").exists() for s in ("", ".tmp", ".old"))]


def claim(out, resume, overwrite, logger=None):
    """Refuse to start a new run over an earlier one (see the module docstring)."""
    out = Path(out)
    found = earlier_checkpoints(out)
    if not found or resume:
        return
    if not overwrite:
        raise RunDirError(
            f"{out} already holds a run ({', '.join(f + '/' for f in found)}); continue it "
            f"with --resume, pick another Global.output_dir, or set "
            f"Global.overwrite_output_dir=true to replace it")
    removed = [name for name in RUN_FILES if (out / name).exists()]
    for name in removed:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    if logger is not None:
        logger.warning(f"Global.overwrite_output_dir=true: removed the earlier run's "
                       f"{', '.join(removed)} from {out}")


class RunLock:
    """``with RunLock(out):`` holds ``out/.lock`` exclusively, or raises ``RunDirError``.

    Without ``fcntl`` (Windows) the lock is a no-op and the docs say so.
    """

    def __init__(self, out):
        self.path = Path(out) / ".lock"
        self._fd = None

    def __enter__(self):
        if fcntl is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise RunDirError(f"{self.path.parent} is in use by another run ({holder}); wait "
                              f"for it to finish or pick another Global.output_dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}"
                 .encode())
        self._fd = fd
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        return False
