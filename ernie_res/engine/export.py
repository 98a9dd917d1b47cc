"""Export a trained model's programs to static graphs for Paddle Inference (``paddle.jit.save``).

The model declares what to trace with ``export_programs()`` (``models/base.py``): per program,
a layer whose forward takes and returns only tensors, and the names, shapes and dtypes of its
inputs. Each program is saved as ``<name>.json`` (PIR program) and ``<name>.pdiparams`` in one
directory; ``engine/runners.py`` runs them. The programs take and return only tensors, so
serving them needs no model code.
"""
import paddle


def program_files(directory, name):
    """``(program file, params file)`` of program ``name`` in an inference directory."""
    return directory / f"{name}.json", directory / f"{name}.pdiparams"


def export_program(spec, prefix):
    """Trace one ``ExportSpec`` (its layer in eval mode) and save it under ``prefix``."""
    spec.layer.eval()
    net = paddle.jit.to_static(
        spec.layer, full_graph=True,
        input_spec=[paddle.static.InputSpec(list(shape), dtype, name)   # (it edits the list)
                    for name, shape, dtype in spec.inputs])
    paddle.jit.save(net, str(prefix))
    return [f"{prefix}.json", f"{prefix}.pdiparams"]


def describe(spec):
    """What ``deploy.json`` records of a program: its inputs and outputs."""
    return {"inputs": [[name, list(shape), dtype] for name, shape, dtype in spec.inputs],
            "outputs": list(spec.outputs)}


def export_programs(model, directory, save=export_program):
    """Save every program of ``model`` in ``directory``; returns ``({name: description},
    files)``.

    ``save(spec, prefix)`` writes one program (the default traces it as it is; int8 export
    passes a quantizing one). The model is put in eval mode first (dropout off).

    Raises:
        ExportError: the model declares no static-graph export.
    """
    programs = model.export_programs()
    model.eval()
    described, files = {}, []
    for name, spec in programs.items():
        files += save(spec, directory / name)
        described[name] = describe(spec)
    return described, files
