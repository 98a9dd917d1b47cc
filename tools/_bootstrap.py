"""Entry-point setup shared by the tools (never imported by the library).

* ``import ernie_res`` works from a clean clone: the repository root goes on ``sys.path``.
* Known-noisy warnings are silenced one by one, by message; every other warning is shown.
* ``import_paddle()`` imports Paddle without its two-line ``WARNING: OMP_NUM_THREADS set to
  N, not 1 ... PLEASE USE OMP_NUM_THREADS WISELY.`` banner, which Paddle prints (from Python,
  to ``sys.stderr``) whenever the variable is above 1. Only those two lines are dropped;
  anything else written during the import is passed on. The thread count itself is the
  user's: ``OMP_NUM_THREADS`` is read by Paddle as usual (1 when it is unset), and
  ``Global.num_threads`` sets it per run.
"""
import io
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: (message regex, category): warnings that say nothing a user can act on
NOISY_WARNINGS = (
    # paddle.utils.cpp_extension, which Paddle imports itself: at every Paddle import
    (r"No ccache found", UserWarning),
    # setuptools' distutils shim, at every PaddleNLP import
    (r"Setuptools is replacing distutils", UserWarning),
)
for _message, _category in NOISY_WARNINGS:
    warnings.filterwarnings("ignore", message=_message, category=_category)


BANNER = ("WARNING: OMP_NUM_THREADS set to", "PLEASE USE OMP_NUM_THREADS WISELY.")


def import_paddle():
    """Import Paddle (see the module docstring); returns the module."""
    if "paddle" in sys.modules:
        return sys.modules["paddle"]
    real, captured = sys.stderr, io.StringIO()
    sys.stderr = captured
    try:
        import paddle
    finally:
        sys.stderr = real
        kept = [line for line in captured.getvalue().splitlines(keepends=True)
                if not line.startswith(BANNER)]
        real.write("".join(kept))
    return paddle
