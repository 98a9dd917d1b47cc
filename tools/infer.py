"""Predict with a trained model directory or an exported inference directory.

    python tools/infer.py --model_dir OUT/best --input PATH [--output PRED.jsonl] [--top_k 3]
    python tools/infer.py --model_dir OUT/inference --text "first text" --text "second"
    cat docs.txt | python tools/infer.py --model_dir OUT/inference --input - > pred.jsonl

--model_dir is a tools/train.py model directory (run in the dynamic graph) or a
tools/export_model.py inference directory (run by Paddle Inference: oneDNN on the CPU unless
--enable_mkldnn false; --cpu_threads, --precision, --device gpu and --use_tensorrt as in
Paddle's deployment tools). Both give the same records (ernie_res.Predictor).

DOC inputs: a text file (one document per line), a .jsonl file with a "text" field, or a
directory of files (one document each). SEQ: raw text (one text per line), CoNLL columns, or
a .jsonl file with a "text" or a "tokens" field. REL: <e1>/<e2> markup lines or .jsonl spans.
Standard input (--input -) is JSON lines when every non-blank line starts with "{", else text
(CoNLL columns for SEQ when it looks like them). Each --text is one record.

Output line N answers input line N: one JSON object per input line, in input order (ids may
repeat): the prediction, {"id", "error"} for a bad record, {"id", "blank": true} for a blank
line. Lines end at "\\n" only and must be UTF-8 (a directory of 20NG postings may be latin-1).
Predictions go to standard output unless --output is given; logs, the bad records and a summary
go to standard error, so `tools/infer.py ... > pred.jsonl` is pure JSON lines. --strict makes
any bad record fatal: exit status 2 and nothing written.

GEN (text VAE / LM):
    python tools/infer.py --model_dir OUT/best --mode sample --num_samples 10 --temperature 0.8
    python tools/infer.py --model_dir OUT/best --mode reconstruct --input sents.txt
    python tools/infer.py --model_dir OUT/best --mode interpolate --input two_sents.txt --steps 6
"""
import argparse
import sys
from pathlib import Path

import _bootstrap
from _deploy import add_deploy_arguments, predictor_kwargs

#: the most bad records listed one by one on standard error (all are in the output)
SHOW_ERRORS = 20


def checked(name):
    """An argparse type for the prediction option ``name``, with the range ``api.predict``
    checks too (``ernie_res.predict_options``)."""
    from ernie_res.predict_options import (PREDICT_OPTIONS, describe_predict_option,
                                           predict_option_ok)

    kind = int if PREDICT_OPTIONS[name][0] == "int" else float

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not predict_option_ok(name, value):
            raise argparse.ArgumentTypeError(f"expected {describe_predict_option(name)}, "
                                             f"got {text!r}")
        return value
    return parse


def _plural(n, word, suffix="s"):
    return f"{n} {word}{suffix if n != 1 else ''}"


def summary(result, input_path, per_record=True):
    """One line on what became of the input records (printed when some were bad or blank).
    ``per_record``: one record answers one input (not GEN's interpolation points)."""
    n_err, n_blank = len(result.errors), len(result.blank)
    unit = "input file" if input_path and Path(input_path).is_dir() else "input line"
    total = len(result.records) + n_err + n_blank if per_record else None
    parts = [f"{len(result.records)} predicted"]
    if n_err:
        parts.append(f"{_plural(n_err, 'bad record')} (an \"error\" row"
                     f"{' each' if n_err != 1 else ''})")
    if n_blank:
        parts.append(f"{_plural(n_blank, 'blank line')} (a \"blank\" row"
                     f"{' each' if n_blank != 1 else ''})")
    head = f"summary: {_plural(total, unit)}: " if total is not None else "summary: "
    return head + ", ".join(parts) + ("; use --strict to refuse bad records" if n_err else "")


def main(argv=None):
    p = argparse.ArgumentParser(description="Predict with an ernie_res model directory or "
                                            "inference directory.")
    p.add_argument("--model_dir", required=True,
                   help="OUT/best (tools/train.py) or OUT/inference (tools/export_model.py)")
    p.add_argument("--input", default=None,
                   help="input file or directory, or - for standard input (GEN --mode sample "
                        "needs none)")
    p.add_argument("--text", action="append", default=None,
                   help="one input record (repeatable); instead of --input")
    p.add_argument("--output", default=None, help="JSONL file (default: standard output)")
    p.add_argument("--top_k", type=checked("top_k"), default=3, help="labels per record (>= 1)")
    p.add_argument("--sort_window", type=checked("sort_window"), default=None,
                   help="sort inputs by length within windows of N records to batch similar "
                        "lengths (default 32 batches; 0 = input order); output order is "
                        "always the input's")
    p.add_argument("--strict", action="store_true",
                   help="any bad input record is fatal: exit status 2, nothing written")
    add_deploy_arguments(p)
    g = p.add_argument_group("generation (GEN)")
    g.add_argument("--mode", choices=("sample", "reconstruct", "interpolate"), default=None)
    g.add_argument("--num_samples", type=checked("num_samples"), default=10,
                   help="sentences to sample")
    g.add_argument("--decoding", choices=("sample", "greedy", "beam"), default="sample")
    g.add_argument("--temperature", type=checked("temperature"), default=1.0, help="> 0")
    g.add_argument("--sample_top_k", type=checked("sample_top_k"), default=0,
                   help="top-k filtering (0 = off)")
    g.add_argument("--top_p", type=checked("top_p"), default=1.0,
                   help="nucleus sampling mass in (0, 1] (1 = off)")
    g.add_argument("--beam_size", type=checked("beam_size"), default=4)
    g.add_argument("--max_len", type=checked("max_len"), default=0, help="0 = Data.max_seq_len")
    g.add_argument("--steps", type=checked("steps"), default=5,
                   help="interpolation points per pair, both ends included (>= 2)")
    g.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.input is not None and a.text is not None:
        p.error("give --input or --text, not both")
    if a.input is None and a.text is None and a.mode != "sample":
        p.error("--input or --text is required (except for GEN --mode sample)")
    options = {"top_k": a.top_k, "strict": a.strict, "sort_window": a.sort_window,
               "mode": a.mode, "num_samples": a.num_samples, "decoding": a.decoding,
               "temperature": a.temperature, "sample_top_k": a.sample_top_k, "top_p": a.top_p,
               "beam_size": a.beam_size, "max_len": a.max_len, "steps": a.steps,
               "seed": a.seed}
    stdin = sys.stdin.buffer.read() if a.input == "-" else None
    _bootstrap.import_paddle()
    from ernie_res import Predictor

    try:
        predictor = Predictor(a.model_dir, **predictor_kwargs(a))
        if a.text is not None:
            result = predictor.predict_records(a.text, **options)
        elif stdin is not None:
            result = predictor.predict_bytes(stdin, "stdin", **options)
        else:
            result = predictor.predict_file(a.input, **options)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.output:
        Path(a.output).parent.mkdir(parents=True, exist_ok=True)
        Path(a.output).write_text(result.text, encoding="utf-8")
    else:
        sys.stdout.write(result.text)
        sys.stdout.flush()
    for e in result.errors[:SHOW_ERRORS]:
        print(f"skipped: {e['error']}", file=sys.stderr)
    if len(result.errors) > SHOW_ERRORS:
        print(f"skipped: ... and {len(result.errors) - SHOW_ERRORS} more (each has an "
              f"\"error\" row in the output)", file=sys.stderr)
    if result.errors or result.blank:
        print(summary(result, a.input if a.input != "-" else None,
                      a.mode in (None, "reconstruct")), file=sys.stderr)
    print(f"{len(result.records)} predictions written to {a.output or 'stdout'}",
          file=sys.stderr)
    return 1 if result.errors and not result.records else 0


if __name__ == "__main__":
    sys.exit(main())
