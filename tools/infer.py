"""Predict with a trained model directory.

    python tools/infer.py --model_dir OUT/best --input PATH [--output PRED.jsonl] [--top_k 3]

DOC inputs: a text file (one document per line), a .jsonl file with a "text" field, or a
directory of files (one document each). Output: one JSON object per input, in input order,
on standard output unless --output is given; logs and the summary go to standard error, so
`tools/infer.py ... > pred.jsonl` is pure JSON lines.

GEN (text VAE / LM):
    python tools/infer.py --model_dir OUT/best --mode sample --num_samples 10 --temperature 0.8
    python tools/infer.py --model_dir OUT/best --mode reconstruct --input sents.txt
    python tools/infer.py --model_dir OUT/best --mode interpolate --input two_sents.txt --steps 6
"""
import argparse
import sys
from pathlib import Path

import _bootstrap


def main(argv=None):
    p = argparse.ArgumentParser(description="Predict with an ernie_res model directory.")
    p.add_argument("--model_dir", required=True)
    p.add_argument("--input", default=None, help="input file (GEN --mode sample needs none)")
    p.add_argument("--output", default=None, help="JSONL file (default: standard output)")
    p.add_argument("--top_k", type=int, default=3)
    p.add_argument("--batch_size", type=int, default=None)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    g = p.add_argument_group("generation (GEN)")
    g.add_argument("--mode", choices=("sample", "reconstruct", "interpolate"), default=None)
    g.add_argument("--num_samples", type=int, default=10, help="sentences to sample")
    g.add_argument("--decoding", choices=("sample", "greedy", "beam"), default="sample")
    g.add_argument("--temperature", type=float, default=1.0)
    g.add_argument("--sample_top_k", type=int, default=0, help="top-k filtering (0 = off)")
    g.add_argument("--top_p", type=float, default=1.0, help="nucleus sampling mass (1 = off)")
    g.add_argument("--beam_size", type=int, default=4)
    g.add_argument("--max_len", type=int, default=0, help="0 = Data.max_seq_len")
    g.add_argument("--steps", type=int, default=5, help="interpolation points per pair")
    g.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.input is None and a.mode != "sample":
        p.error("--input is required (except for GEN --mode sample)")
    options = {"batch_size": a.batch_size, "top_k": a.top_k,
               "mode": a.mode, "num_samples": a.num_samples, "decoding": a.decoding,
               "temperature": a.temperature, "sample_top_k": a.sample_top_k, "top_p": a.top_p,
               "beam_size": a.beam_size, "max_len": a.max_len, "steps": a.steps,
               "seed": a.seed}
    _bootstrap.import_paddle()
    from ernie_res import api

    try:
        result = api.predict(a.model_dir, a.input, options, a.device)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.output:
        Path(a.output).parent.mkdir(parents=True, exist_ok=True)
        Path(a.output).write_text(result.text, encoding="utf-8")
    else:
        sys.stdout.write(result.text)
        sys.stdout.flush()
    for e in result.errors:
        print(f"skipped: {e['error']}", file=sys.stderr)
    print(f"{len(result.records)} predictions written to {a.output or 'stdout'}"
          + (f"; {len(result.errors)} input lines had errors (listed above and in the output)"
             if result.errors else ""), file=sys.stderr)
    return 1 if result.errors and not result.records else 0


if __name__ == "__main__":
    sys.exit(main())
