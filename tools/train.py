"""Train a model from a YAML config (PaddleClas/PaddleOCR style).

    python tools/train.py -c configs/doc/20ng.yaml \
        -o Global.output_dir=output/doc Model.backbone=ernie-2.0-base-en Data.root=DIR
    python tools/train.py -c configs/doc/20ng.yaml -o Global.output_dir=output/doc --resume

Writes OUT/config.yaml, OUT/train.log, OUT/vdl/ (VisualDL), OUT/best/ and OUT/latest/; logs
go to standard error and OUT/train.log.
Data parallel: python -m paddle.distributed.launch --nproc_per_node 2 tools/train.py ...
"""
import argparse
import os
import sys
from pathlib import Path

import _bootstrap


def main(argv=None):
    p = argparse.ArgumentParser(description="Train an ernie_res model.")
    p.add_argument("-c", "--config", required=True, help="YAML config file")
    p.add_argument("-o", "--override", nargs="*", default=[], metavar="Section.key=value",
                   help="override config keys (values parsed as YAML)")
    p.add_argument("--resume", nargs="?", const="", default=None, metavar="LATEST_DIR",
                   help="resume exactly from a latest/ directory (default: OUT/latest)")
    a = p.parse_args(argv)
    _bootstrap.import_paddle()
    from ernie_res import api
    from ernie_res.config import ConfigError
    from ernie_res.data.errors import DataFormatError
    from ernie_res.engine.trainer import NonFiniteError
    from ernie_res.models.backbone import BackboneLoadError

    try:
        cfg = api.load_config(a.config, a.override)
        resume = None
        if a.resume is not None:
            resume = Path(a.resume) if a.resume else Path(cfg.Global.output_dir) / "latest"
        api.train(cfg, resume=resume)
    except (ConfigError, DataFormatError, BackboneLoadError, FileNotFoundError, ValueError,
            NonFiniteError) as e:
        if os.environ.get("ERNIE_RES_DEBUG"):
            raise
        print(f"error: {e}\n(set ERNIE_RES_DEBUG=1 for the traceback)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
