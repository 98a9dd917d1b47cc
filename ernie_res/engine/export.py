"""Export a trained model to a static graph for Paddle Inference (``paddle.jit.save``).

The exported program takes only tensors and returns one: class probabilities for DOC
(``input_ids``/``attention_mask`` ``[B, 1, T]``, i.e. head+tail or head truncation), so
serving code needs no ernie_res import. ``paddle.jit.save`` writes ``model.json`` (PIR
program) and ``model.pdiparams``; ``inference.Config(json, pdiparams)`` loads them.
"""
import paddle


class ProbsOnly(paddle.nn.Layer):
    """Wrap a model whose forward returns a dict, exposing only ``probs``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask)["probs"]


EXPORTABLE = {"doc": (ProbsOnly, [([None, 1, None], "int64", "input_ids"),
                                   ([None, 1, None], "int64", "attention_mask")])}


def export(model, task_name, out_prefix):
    """Trace ``model`` for ``task_name`` and save it under ``out_prefix``; returns the files."""
    if task_name not in EXPORTABLE:
        raise ValueError(f"export: task {task_name!r} has no static-graph export yet "
                         f"(available: {sorted(EXPORTABLE)})")
    wrapper, specs = EXPORTABLE[task_name]
    model.eval()
    net = paddle.jit.to_static(wrapper(model), full_graph=True,
                               input_spec=[paddle.static.InputSpec(*s) for s in specs])
    paddle.jit.save(net, str(out_prefix))
    return [f"{out_prefix}.json", f"{out_prefix}.pdiparams"]


def load_predictor(out_prefix, use_gpu=False):
    """A Paddle Inference predictor over an exported model."""
    from paddle import inference

    config = inference.Config(f"{out_prefix}.json", f"{out_prefix}.pdiparams")
    if use_gpu:
        config.enable_use_gpu(256, 0)
    else:
        config.disable_gpu()
        # Paddle 3.3's oneDNN passes fuse a LayerNorm over the conv blocks' channels with the
        # wrong width ("Scale [32] vs [64]"); the plain CPU kernels give the exact outputs.
        config.disable_mkldnn()
    return inference.create_predictor(config)


def predict(predictor, *arrays):
    for name, arr in zip(predictor.get_input_names(), arrays):
        handle = predictor.get_input_handle(name)
        handle.reshape(arr.shape)
        handle.copy_from_cpu(arr)
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
