"""Evaluate a trained model directory on a dataset split.

    python tools/eval.py --model_dir OUT/best [--split test] [-o Data.root=DIR]
                         [--answer_file PATH]   (REL: the official ID<TAB>label answer file)

Prints the task's report to standard output; its last line is the metrics as one JSON
object. Logs go to standard error.
"""
import argparse
import json
import sys
from pathlib import Path

import _bootstrap


def main(argv=None):
    p = argparse.ArgumentParser(description="Evaluate an ernie_res model directory.")
    p.add_argument("--model_dir", required=True, help="OUT/best or OUT/latest of a train run")
    p.add_argument("--split", default="test", help="dataset split (train, dev or test)")
    p.add_argument("-o", "--override", nargs="*", default=[], metavar="Section.key=value",
                   help="override keys of the saved config, e.g. Data.root=DIR")
    p.add_argument("--batch_size", type=int, default=None)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    p.add_argument("--answer_file", default=None, metavar="PATH",
                   help="also write the predictions in the task's official answer format "
                        "(REL: ID<TAB>label per line, for the SemEval Perl scorer)")
    a = p.parse_args(argv)
    _bootstrap.import_paddle()
    from ernie_res import api
    from ernie_res.config import ConfigError
    from ernie_res.data.errors import DataFormatError

    try:
        metrics, metric, task = api.evaluate(a.model_dir, a.split, a.override, a.batch_size,
                                             a.device)
        if a.answer_file:
            # the split is re-read (deterministic) to pair predictions with example IDs
            text = task.answer_text(task.load_examples(a.split), metric)
            Path(a.answer_file).parent.mkdir(parents=True, exist_ok=True)
            with open(a.answer_file, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            print(f"answer file written to {a.answer_file}", file=sys.stderr)
    except (ConfigError, DataFormatError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report = metric.report()
    if report:
        print(report)
    print(json.dumps({"split": a.split, **{k: round(v, 6) for k, v in metrics.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
