"""The offline demo: tiny ERNIE + the bundled 20 Newsgroups-layout sample, on the CPU.

    make demo        (or: python tools/demo.py [--out output])

Runs the same commands a user would, printing each one first:
build a tiny ERNIE -> train DOC -> evaluate on the sample test split -> predict a few texts ->
export for Paddle Inference and predict again from the export (oneDNN), then says where the
VisualDL logs are and how to open them.
"""
import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TEXTS = [
    "The goalie made forty saves and the team won the playoff game in overtime.",
    "My engine stalls when the car is cold; should I replace the spark plugs or the fuel pump?",
    "NASA plans another shuttle launch to repair the orbiting telescope next spring.",
    "Which rendering library handles polygon shading and texture mapping fastest?",
    "",
]


def run(cmd):
    print("\n$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    t0 = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True)
    print(f"  ({time.time() - t0:.0f}s)", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="output", help="where the tiny ERNIE and the run go")
    a = p.parse_args()
    py = sys.executable
    out = Path(a.out)
    tiny, run_dir = out / "tiny_ernie", out / "demo_doc"
    run([py, "tools/make_tiny_ernie.py", "--output", str(tiny)])
    run([py, "tools/train.py", "-c", "configs/doc/20ng_tiny.yaml", "-o",
         f"Global.output_dir={run_dir}", f"Model.backbone={tiny}"])
    run([py, "tools/eval.py", "--model_dir", str(run_dir / "best"), "--split", "test"])
    inputs = run_dir / "demo_inputs.txt"
    (ROOT / inputs).write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    run([py, "tools/infer.py", "--model_dir", str(run_dir / "best"), "--input", str(inputs),
         "--output", str(run_dir / "demo_predictions.jsonl")])
    print("\npredictions:")
    print((ROOT / run_dir / "demo_predictions.jsonl").read_text(encoding="utf-8"))
    run([py, "tools/export_model.py", "--model_dir", str(run_dir / "best"), "--output",
         str(run_dir / "inference")])
    run([py, "tools/infer.py", "--model_dir", str(run_dir / "inference"), "--top_k", "1",
         "--text", TEXTS[0], "--text", TEXTS[2]])
    print(f"VisualDL logs: {run_dir / 'vdl'}\n  open them with:  "
          f"{Path(py).parent / 'visualdl'} --logdir {run_dir / 'vdl'} --language en "
          f"--port 8040   then browse http://localhost:8040")


if __name__ == "__main__":
    main()
