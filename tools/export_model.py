"""Export a trained model directory to a self-contained inference directory (Paddle Inference).

    python tools/export_model.py --model_dir OUT/best --output OUT/inference
    python tools/export_model.py --model_dir OUT/best --output OUT/inference_int8 \\
        --precision int8 --calib_samples 200

The directory holds the static-graph programs, the tokenizer files, labels.json, config.yaml
and deploy.json (ernie_res/inference_dir.py): `tools/infer.py --model_dir OUT/inference`,
`tools/serve.py` and `ernie_res.Predictor` need nothing else. int8 is post-training
quantization, calibrated on the first --calib_samples training examples of the model's
Data.root (-o Data.root=DIR points it elsewhere).

Writes OUT/inference.tmp first and swaps it in; an earlier inference directory at --output is
replaced, any other non-empty directory is refused.
"""
import argparse
import sys

import _bootstrap


def main(argv=None):
    p = argparse.ArgumentParser(description="Export an ernie_res model for Paddle Inference.")
    p.add_argument("--model_dir", required=True, help="OUT/best of a tools/train.py run")
    p.add_argument("--output", required=True, help="the inference directory to write")
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32",
                   help="int8: post-training quantization (oneDNN on the CPU)")
    p.add_argument("--calib_samples", type=int, default=None,
                   help="training examples that calibrate int8 (default 200)")
    p.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                   help="data overrides for calibration, e.g. -o Data.root=DIR")
    a = p.parse_args(argv)
    if a.calib_samples is not None and a.precision != "int8":
        p.error("--calib_samples applies to --precision int8")
    if a.calib_samples is not None and a.calib_samples < 1:
        p.error(f"--calib_samples: expected an integer >= 1, got {a.calib_samples}")
    _bootstrap.import_paddle()
    from ernie_res import api, inference_dir

    try:
        loaded = api.load_model_dir(a.model_dir, a.override, device="cpu")
        files = inference_dir.export(a.model_dir, a.output, a.precision, a.calib_samples,
                                     loaded=loaded)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n".join(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
