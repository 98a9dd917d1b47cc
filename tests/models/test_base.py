"""The hooks every model head has (models/base.py) and their defaults; the MODELS registry."""
import dataclasses

import paddle
import paddle.nn as nn
import pytest

from ernie_res.models import MODELS, build_model
from ernie_res.models.base import (ExportError, ExportSpec, ModelConfig, TaskModel,
                                   TrainStrategy)


class Plain(TaskModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, x):
        return {"logits": self.linear(x)}


class NoCallsCtx:
    """A ``StepContext`` stand-in that fails on any use."""

    def __getattr__(self, name):
        raise AssertionError(f"the default strategy used ctx.{name}")


def test_default_train_strategy_adds_nothing():
    strategy = Plain().train_strategy()
    assert type(strategy) is TrainStrategy
    ctx = NoCallsCtx()
    assert strategy.begin_update(ctx, 0, 10) == {}
    assert strategy.before_optimizer_step(ctx) is None
    assert strategy.after_evaluation({"accuracy": 50.0}) is None
    assert Plain().train_strategy() is not strategy               # a fresh one per call


def test_set_final_eval_is_a_no_op():
    model = Plain()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    attrs = dict(vars(model))
    assert model.set_final_eval() is None and model.set_final_eval(False) is None
    assert dict(vars(model)) == attrs
    after = model.state_dict()
    assert all((after[k].numpy() == v).all() for k, v in before.items())


def test_export_programs_default_raises_with_the_class_name():
    with pytest.raises(ExportError, match="^Plain has no static-graph export yet$"):
        Plain().export_programs()
    assert issubclass(ExportError, ValueError)


def test_export_spec_is_frozen():
    spec = ExportSpec(layer=Plain(), inputs=(("x", [None, 2], "float32"),), outputs=("logits",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.outputs = ()


def test_model_config_defaults():
    c = ModelConfig()
    assert c.name == "" and c.backbone == "ernie-2.0-base-en"


def test_registry():
    assert sorted(MODELS) == ["doc_classifier", "rel_classifier", "seq_crf", "text_vae"]
    for name, cls in MODELS.items():
        assert issubclass(cls, TaskModel)
        assert issubclass(cls.Config, ModelConfig) and cls.Config().name == name


def test_build_model_passes_config_and_derived_arguments(monkeypatch):
    seen = {}

    class Fake:
        def __init__(self, config, **derived):
            seen.update(config=config, **derived)

    monkeypatch.setitem(MODELS, "fake", Fake)
    cfg = ModelConfig(name="fake")
    assert isinstance(build_model(cfg, encoder="enc", num_labels=3), Fake)
    assert seen == {"config": cfg, "encoder": "enc", "num_labels": 3}


def test_forward_through_the_layer():
    out = Plain()(paddle.ones([1, 2]))
    assert list(out) == ["logits"] and out["logits"].shape == [1, 2]
