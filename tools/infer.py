"""Predict with a trained model directory.

    python tools/infer.py --model_dir OUT/best --input PATH [--output PRED.jsonl] [--top_k 3]

DOC inputs: a text file (one document per line), a .jsonl file with a "text" field, or a
directory of files (one document each). Output: one JSON object per input, in input order.

GEN (text VAE / LM):
    python tools/infer.py --model_dir OUT/best --mode sample --num_samples 10 --temperature 0.8
    python tools/infer.py --model_dir OUT/best --mode reconstruct --input sents.txt
    python tools/infer.py --model_dir OUT/best --mode interpolate --input two_sents.txt --steps 6
"""
import argparse
import sys

import _bootstrap  # noqa: F401


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
    gen = {"mode": a.mode, "num_samples": a.num_samples, "decoding": a.decoding,
           "temperature": a.temperature, "top_k": a.sample_top_k, "top_p": a.top_p,
           "beam_size": a.beam_size, "max_len": a.max_len, "steps": a.steps, "seed": a.seed}
    from ernie_res.engine.runner import run_infer

    try:
        records, errors = run_infer(a.model_dir, a.input, a.output, a.batch_size, a.top_k,
                                    a.device, gen_options=gen)
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
