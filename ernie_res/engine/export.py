"""Export a trained model to a static graph for Paddle Inference (``paddle.jit.save``).

The model declares what to trace with ``export_spec()`` (``models/base.py``): a layer whose
forward takes and returns only tensors, and the names, shapes and dtypes of its inputs. The
exported program
takes only tensors and returns only tensors, so serving code needs no ernie_res import.
``paddle.jit.save`` writes ``model.json`` (PIR program) and ``model.pdiparams``;
``inference.Config(json, pdiparams)`` loads them.
"""
import paddle


def export(model, out_prefix):
    """Trace ``model`` (eval mode) and save it under ``out_prefix``; returns the files.

    Raises:
        ExportError: the model declares no static-graph export.
    """
    spec = model.export_spec()
    model.eval()
    spec.layer.eval()
    net = paddle.jit.to_static(
        spec.layer, full_graph=True,
        input_spec=[paddle.static.InputSpec(shape, dtype, name)
                    for name, shape, dtype in spec.inputs])
    paddle.jit.save(net, str(out_prefix))
    return [f"{out_prefix}.json", f"{out_prefix}.pdiparams"]


def load_predictor(out_prefix, use_gpu=False, enable_mkldnn=True):
    """A Paddle Inference predictor over an exported model (oneDNN on by default on CPU).

    The residual blocks' convolutions are channels-first so that oneDNN runs them correctly
    (``layers/residual.py``); with oneDNN the outputs match the plain CPU kernels to ~1e-6.
    """
    from paddle import inference

    config = inference.Config(f"{out_prefix}.json", f"{out_prefix}.pdiparams")
    if use_gpu:
        config.enable_use_gpu(256, 0)
    else:
        config.disable_gpu()
        if enable_mkldnn:
            config.enable_mkldnn()
        else:
            config.disable_mkldnn()
    config.disable_glog_info()
    return inference.create_predictor(config)


def predict(predictor, *arrays):
    """Run a predictor on NumPy inputs (in the program's input order); the first output."""
    for name, arr in zip(predictor.get_input_names(), arrays):
        handle = predictor.get_input_handle(name)
        handle.reshape(arr.shape)
        handle.copy_from_cpu(arr)
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
