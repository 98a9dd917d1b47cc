"""Download a public data set into the layout the ernie_res readers expect.

    python tools/download_data.py {20ng,conll2003,semeval2010,ptb} --dest DIR [--timeout SEC]
                                  [--allow-unverified]

Thin wrapper around :func:`ernie_res.data.download.main`; sources, their pinned sha256
checksums and the ``--allow-unverified`` policy are described there.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ernie_res.data.download import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
