import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_configs_md_is_up_to_date():
    r = subprocess.run([sys.executable, str(ROOT / "tools/config_docs.py")], capture_output=True,
                       text=True, check=True)
    assert (ROOT / "docs/configs.md").read_text(encoding="utf-8") == r.stdout, \
        "docs/configs.md is stale: run python tools/config_docs.py > docs/configs.md"
