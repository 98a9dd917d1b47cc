"""Export a trained model directory for Paddle Inference.

    python tools/export_model.py --model_dir OUT/best --output OUT/inference/model

Writes OUT/inference/model.json and model.pdiparams (DOC: probabilities from input_ids and
attention_mask of shape [batch, 1, seq_len]); the model directory's tokenizer and
labels.json are what a server needs next to them.
"""
import argparse
import sys

import _bootstrap


def main(argv=None):
    p = argparse.ArgumentParser(description="Export an ernie_res model for Paddle Inference.")
    p.add_argument("--model_dir", required=True)
    p.add_argument("--output", required=True, help="path prefix of the exported files")
    a = p.parse_args(argv)
    _bootstrap.import_paddle()
    from ernie_res import api

    try:
        files = api.export(a.model_dir, a.output)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("exported: " + ", ".join(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
