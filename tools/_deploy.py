"""The flags that say how a model runs, shared by tools/infer.py and tools/serve.py (the
``ernie_res.Predictor`` arguments, spelled as Paddle's deployment tools spell them)."""
import argparse


def at_least(low):
    """An argparse type: an integer >= ``low``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value
    return parse


def true_false(text):
    """``--enable_mkldnn true|false``."""
    value = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False,
             "no": False, "off": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


def add_deploy_arguments(p):
    """Add ``--device --cpu_threads --enable_mkldnn --precision --use_tensorrt --batch_size``."""
    g = p.add_argument_group("how the model runs (the Paddle Inference settings apply to "
                             "inference directories)")
    g.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"),
                   help="auto: the GPU when Paddle has one, else the CPU")
    g.add_argument("--cpu_threads", type=at_least(1), default=None,
                   help="math-library threads (default: OMP_NUM_THREADS, as the dynamic graph)")
    g.add_argument("--enable_mkldnn", type=true_false, default=None, metavar="{true,false}",
                   help="oneDNN on the CPU (default: true)")
    g.add_argument("--precision", choices=("fp32", "fp16", "bf16", "int8"), default=None,
                   help="default: the exported precision; fp16 needs --device gpu, bf16 a CPU "
                        "with AVX-512 BF16 (or a GPU), int8 an export with --precision int8")
    g.add_argument("--use_tensorrt", action="store_true", help="TensorRT subgraphs (GPU)")
    g.add_argument("--batch_size", type=at_least(1), default=None,
                   help="records per forward pass (default: the config's "
                        "Train.eval_batch_size)")
    return g


def predictor_kwargs(a):
    """``ernie_res.Predictor`` keyword arguments from parsed ``add_deploy_arguments`` flags."""
    return {"device": a.device, "cpu_threads": a.cpu_threads, "enable_mkldnn": a.enable_mkldnn,
            "precision": a.precision, "use_tensorrt": a.use_tensorrt,
            "batch_size": a.batch_size}
