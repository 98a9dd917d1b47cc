"""Predict with a trained model directory.

    python tools/infer.py --model_dir OUT/best --input PATH [--output PRED.jsonl] [--top_k 3]

DOC inputs: a text file (one document per line), a .jsonl file with a "text" field, or a
directory of files (one document each). Output: one JSON object per input, in input order.
"""
import argparse
import sys

import _bootstrap  # noqa: F401


def main(argv=None):
    p = argparse.ArgumentParser(description="Predict with an ernie_res model directory.")
    p.add_argument("--model_dir", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", default=None, help="JSONL file (default: standard output)")
    p.add_argument("--top_k", type=int, default=3)
    p.add_argument("--batch_size", type=int, default=None)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    a = p.parse_args(argv)
    from ernie_res.engine.runner import run_infer

    try:
        records, errors = run_infer(a.model_dir, a.input, a.output, a.batch_size, a.top_k,
                                    a.device)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for e in errors:
        print(f"skipped: {e['error']}", file=sys.stderr)
    where = a.output or "stdout"
    print(f"{len(records)} predictions written to {where}"
          + (f"; {len(errors)} input lines had errors (listed above and in the output)"
             if errors else ""), file=sys.stderr)
    return 1 if errors and not records else 0


if __name__ == "__main__":
    sys.exit(main())
