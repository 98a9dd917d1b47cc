"""What every model head declares: its config section, its training step, its export.

The trainer, the evaluation and the export tool call the methods below on every model and
never ask ``hasattr``: a head that needs nothing special inherits the defaults, and a head
that does (the text VAE) overrides them. This is the explicit interface of PyTorch
Lightning's ``LightningModule`` hooks and Keras' ``Model.train_step``, cut down to what our
four tasks need.

``TaskModel`` hooks:

===========================  =============================================================
``forward(..., labels=None)``  tensors in, a dict out: ``logits``/``probs``/``predictions``,
                               and ``loss`` when labels are given; ``log`` (optional) holds
                               scalars the trainer averages into ``train/<key>``
``train_strategy()``           the ``TrainStrategy`` the trainer runs each update with
``set_final_eval(enabled)``    switch to the (slower) final evaluation, e.g. the VAE's
                               500-sample IW-NLL in ``tools/eval.py``
``export_programs()``          ``{name: ExportSpec}``: the static-graph programs a deployment
                               runs (``engine/export.py``) and the dynamic ``Predictor`` runs
                               the same way (``engine/runners.py``)
===========================  =============================================================

``TrainStrategy`` is called by the trainer at fixed points of each optimizer update; see its
docstring for the order and for the ``StepContext`` primitives it may use.
"""
from dataclasses import dataclass

import paddle.nn as nn

from ernie_res.config import option


@dataclass
class ModelConfig:
    """The keys every ``Model`` section has; each head's config adds its own."""
    name: str = option("", "Model registry name; picks this section's schema.")
    backbone: str = option("ernie-2.0-base-en", "PaddleNLP checkpoint name (ernie-2.0-base-en, "
                                                "ernie-3.0-medium-zh, ...) or a local directory "
                                                "written by save_pretrained.")


class TrainStrategy:
    """How each optimizer update is made. The default adds nothing: one optimizer update per
    accumulation group of micro-batches.

    For optimizer update ``step`` (0-based) of ``total`` the trainer calls, in this order:

    1. ``logs = begin_update(ctx, step, total)`` before the first micro-batch; the returned
       scalars are averaged over the updates of the log window and plotted as
       ``train/<key>``;
    2. forward and backward of each micro-batch of the group (the trainer);
    3. ``before_optimizer_step(ctx)`` after the last backward;
    4. the optimizer and learning-rate scheduler steps (the trainer).

    After each evaluation (rank 0) it calls ``note = after_evaluation(metrics)`` and logs the
    note when there is one; the model's buffers are then broadcast to every rank.

    ``ctx`` is the trainer's ``StepContext`` (``ernie_res.engine.step_context``):
    ``ctx.forward(batch)``, ``ctx.backward(loss)``, ``ctx.release(params)`` (drop gradients so
    the optimizer skips those parameters), ``ctx.update(frozen=params)`` (an extra optimizer
    update, without a scheduler step) and ``ctx.fresh_batches(seed_offset, epoch)`` (training
    batches in an order of their own, reproducible from the seed and ``epoch``).
    """

    def begin_update(self, ctx, step, total):
        return {}

    def before_optimizer_step(self, ctx):
        pass

    def after_evaluation(self, metrics):
        return None


class ExportError(ValueError):
    """The model cannot be exported to a static graph."""


@dataclass(frozen=True)
class ExportSpec:
    """What a static-graph export traces.

    Attributes:
        layer: an ``nn.Layer`` whose ``forward`` takes exactly ``inputs`` and returns only
            tensors (the model's dict reduced to ``outputs``), which is what ``to_static``
            and Paddle Inference need.
        inputs: ``((name, shape, dtype), ...)`` in the order of ``layer.forward``'s
            arguments; ``None`` in a shape is a dynamic dimension.
        outputs: names of the tensors the exported program returns, in order.
    """
    layer: nn.Layer
    inputs: tuple
    outputs: tuple


class TaskModel(nn.Layer):
    """Base class of every model head; see the module docstring for the hooks."""

    def train_strategy(self):
        """The ``TrainStrategy`` the trainer uses for this model (default: plain updates)."""
        return TrainStrategy()

    def set_final_eval(self, enabled=True):
        """Use the final (slower, more exact) evaluation; the default has only one."""

    def export_programs(self):
        """``{program name: ExportSpec}``: what inference runs, as programs over tensors.

        Most heads have one program, ``"model"``; the text VAE has an encoder and a one-step
        decoder, whose loop runs in the predictor. Prediction runs these programs whether the
        model is exported (Paddle Inference) or not (eager), so both paths compute the same
        thing. Raises ``ExportError`` when the head has none.
        """
        raise ExportError(f"{type(self).__name__} has no static-graph export yet")
