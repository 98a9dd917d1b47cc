"""Runners: what a task's ``predict`` calls to run a model's programs on a batch.

A runner has one method, ``run(program, batch) -> {output name: NumPy array}``: it takes the
program's inputs from ``batch`` by name (other keys, such as ``labels`` and the ``_``
bookkeeping keys, are ignored) and returns the program's outputs by name. The two runners
compute the same programs (``TaskModel.export_programs()``):

* ``EagerRunner`` runs them in the dynamic graph, on a model built from a model directory;
* ``InferenceRunner`` runs the exported programs with Paddle Inference
  (``engine/inference_config.py`` says how: device, threads, oneDNN, precision).

So a task's prediction code is the same for a trained directory and a deployed one, and the
parity tests compare exactly what users get.
"""
import numpy as np
import paddle

from ernie_res.engine.export import program_files
from ernie_res.engine.inference_config import build_config
from ernie_res.engine.quantize import prepare_int8_runtime


def _inputs(inputs, batch, program):
    missing = [name for name, _, _ in inputs if name not in batch]
    if missing:
        raise KeyError(f"program {program!r} needs {', '.join(missing)}; the batch has "
                       f"{', '.join(sorted(batch))}")
    return [np.ascontiguousarray(np.asarray(batch[name]), dtype=dtype)
            for name, _, dtype in inputs]


class EagerRunner:
    """The programs of ``model`` in the dynamic graph (``paddle.no_grad``, eval mode)."""

    def __init__(self, model):
        self.model = model
        self.programs = model.export_programs()
        model.eval()

    def inputs(self, program):
        return self.programs[program].inputs

    def run(self, program, batch):
        spec = self.programs[program]
        arrays = _inputs(spec.inputs, batch, program)
        with paddle.no_grad():
            out = spec.layer(*[paddle.to_tensor(a) for a in arrays])
        out = out if isinstance(out, (tuple, list)) else (out,)
        return {name: t.numpy() for name, t in zip(spec.outputs, out)}


class InferenceRunner:
    """The exported programs of an inference directory, under Paddle Inference.

    Args:
        directory (Path): the inference directory.
        programs (dict): ``deploy.json``'s ``programs``: ``{name: {"inputs", "outputs"}}``.
        calls_for (callable): ``calls_for(inputs) -> config calls`` of a program
            (``inference_config.config_calls`` with the options bound).
        precision (str): what the programs were exported in; int8 programs need
            ``quantize.prepare_int8_runtime()`` first (a Paddle 3.3 workaround).
    """

    def __init__(self, directory, programs, calls_for, precision="fp32"):
        from paddle import inference

        if precision == "int8":
            prepare_int8_runtime()
        self.programs = {name: dict(p, inputs=[tuple(i) for i in p["inputs"]])
                         for name, p in programs.items()}
        self.predictors = {}
        for name, p in self.programs.items():
            config = build_config(*program_files(directory, name), calls_for(p["inputs"]))
            self.predictors[name] = inference.create_predictor(config)

    def inputs(self, program):
        return self.programs[program]["inputs"]

    def run(self, program, batch):
        p, predictor = self.programs[program], self.predictors[program]
        for (name, _, _), arr in zip(p["inputs"], _inputs(p["inputs"], batch, program)):
            handle = predictor.get_input_handle(name)
            handle.reshape(arr.shape)
            handle.copy_from_cpu(arr)
        predictor.run()
        names = predictor.get_output_names()
        return {out: predictor.get_output_handle(h).copy_to_cpu()
                for out, h in zip(p["outputs"], names)}
