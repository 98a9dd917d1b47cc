"""Static-graph export of a tiny DocClassifier: the files, Paddle Inference outputs equal to the
dygraph probabilities (oneDNN on and off), and the error for a model that declares no export."""
from pathlib import Path

import numpy as np
import paddle
import pytest

from ernie_res.api import load_config
from ernie_res.engine.export import export_programs
from ernie_res.engine.inference_config import InferenceOptions, config_calls
from ernie_res.engine.runners import EagerRunner, InferenceRunner
from ernie_res.models import build_model
from ernie_res.models.backbone import load_backbone
from ernie_res.models.base import ExportError, TaskModel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model(tiny_ernie):
    config = load_config(ROOT / "configs/doc/20ng_tiny.yaml", [f"Model.backbone={tiny_ernie}"])
    paddle.seed(4)
    encoder, _ = load_backbone(str(tiny_ernie))
    net = build_model(config.Model, encoder=encoder, num_labels=4)
    net.train()                       # export must switch to eval mode (dropout off) itself
    return net


@pytest.mark.parametrize("onednn", [False, True])
def test_export_writes_a_program_that_predicts_the_dygraph_probs(model, tmp_path, onednn):
    """With oneDNN too: the residual block's convolutions used to be NHWC, which Paddle 3.3's
    oneDNN conv kernel read with the wrong layout (a crash)."""
    programs, files = export_programs(model, tmp_path)
    assert files == [f"{tmp_path / 'model'}.json", f"{tmp_path / 'model'}.pdiparams"]
    assert all(Path(f).is_file() and Path(f).stat().st_size > 0 for f in files)
    assert programs == {"model": {"inputs": [["input_ids", [None, None, None], "int64"],
                                             ["attention_mask", [None, None, None], "int64"]],
                                  "outputs": ["probs"]}}
    assert not model.training
    options = InferenceOptions(enable_mkldnn=onednn)
    runner = InferenceRunner(tmp_path, programs, lambda inputs: config_calls(options))
    eager = EagerRunner(model)
    rng = np.random.RandomState(0)
    for batch, length in ((3, 12), (1, 7), (4, 130)):           # dynamic batch and length
        ids = rng.randint(5, 60, size=(batch, 1, length)).astype("int64")
        mask = np.ones_like(ids)
        if batch > 1:
            mask[1, 0, length - 4:] = 0
            ids[mask == 0] = 0
        got = runner.run("model", {"input_ids": ids, "attention_mask": mask, "_index": 0})
        with paddle.no_grad():
            want = model(paddle.to_tensor(ids), paddle.to_tensor(mask))["probs"].numpy()
        assert list(got) == ["probs"] and got["probs"].shape == (batch, 4)
        np.testing.assert_allclose(got["probs"], want, rtol=0, atol=1e-5)
        same = eager.run("model", {"input_ids": ids, "attention_mask": mask})
        np.testing.assert_allclose(same["probs"], want, rtol=0, atol=1e-6)


def test_a_runner_names_the_missing_input(model, tmp_path):
    with pytest.raises(KeyError, match="program 'model' needs attention_mask; the batch has "
                                       "input_ids"):
        EagerRunner(model).run("model", {"input_ids": np.zeros((1, 1, 3), "int64")})


def test_a_model_without_export_raises_export_error_naming_the_class(tmp_path):
    class NoExportHead(TaskModel):
        def forward(self, x):
            return {"logits": x}

    with pytest.raises(ExportError, match="NoExportHead has no static-graph export"):
        export_programs(NoExportHead(), tmp_path)
    assert list(tmp_path.iterdir()) == []
