"""Download a public data set into the layout the ernie_res readers expect.

    python tools/download_data.py {20ng,conll2003,semeval2010,ptb} --dest DIR [--timeout SEC]

Thin wrapper around :func:`ernie_res.data.download.main`; sources are listed there.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ernie_res.data.download import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
