"""Build a tiny randomly initialised ERNIE checkpoint (config, weights, WordPiece vocab).

    python tools/make_tiny_ernie.py --output output/tiny_ernie [--corpus data/sample ...]

The directory loads through the same ``Model.backbone=DIR`` path as a real checkpoint.
"""
import argparse
import os

import _bootstrap


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", required=True, help="directory to write")
    sample = _bootstrap.ROOT / "data" / "sample"
    train_splits = [sample / "20news-bydate" / "20news-bydate-train",
                    sample / "conll2003" / "eng.train", sample / "semeval2010" / "TRAIN_FILE.TXT",
                    sample / "ptb" / "ptb.train.txt"]
    p.add_argument("--corpus", nargs="+", default=[str(x) for x in train_splits],
                   help="files or directories whose words form the vocabulary (default: the "
                        "training splits of every bundled sample, so one tiny ERNIE serves "
                        "all four demos without seeing their test text)")
    p.add_argument("--hidden_size", type=int, default=64)
    p.add_argument("--num_layers", type=int, default=2)
    p.add_argument("--num_heads", type=int, default=2)
    p.add_argument("--intermediate_size", type=int, default=128)
    p.add_argument("--max_position", type=int, default=512)
    p.add_argument("--max_words", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    missing = [c for c in a.corpus if not os.path.exists(c)]
    if missing:
        p.error(f"--corpus: no such file or directory: {', '.join(missing)}")
    _bootstrap.import_paddle()
    from ernie_res.models.tiny_ernie import make_tiny_ernie

    out = make_tiny_ernie(a.output, a.corpus, hidden_size=a.hidden_size,
                          num_layers=a.num_layers, num_heads=a.num_heads,
                          intermediate_size=a.intermediate_size, max_position=a.max_position,
                          max_words=a.max_words, seed=a.seed)
    print(f"tiny ERNIE written to {out} (use Model.backbone={out})")


if __name__ == "__main__":
    main()
