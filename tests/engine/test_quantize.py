"""Post-training int8 export of a tiny DocClassifier (``engine/quantize.py``): the program holds
int8 ops, Paddle Inference runs them with oneDNN, and the outputs are the int8 arithmetic's
(an exact simulation in the dynamic graph), close to fp32 but not equal to it."""
from pathlib import Path

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
import pytest

from ernie_res.api import load_config
from ernie_res.engine.quantize import (FC_OP, QUANTIZE_OP, calibrate, load_int8_predictor,
                                       quantize_export, quantize_program, quantized_ops)
from ernie_res.models import build_model
from ernie_res.models.backbone import load_backbone

ROOT = Path(__file__).resolve().parents[2]
#: probabilities of 4 classes: 8-bit activations (step max/127 per tensor) and 7-bit weights
#: (step max/63 per output channel) move each of the ~8 matmuls on the path by ~1 %, and the
#: probabilities by ~0.01 (measured 0.011 max on these inputs); 0.05 leaves 4x for seeds
FP32_ATOL = 0.05
#: against a dynamic-graph simulation of the same int8 arithmetic, only rounding-tie and
#: accumulation-order differences remain (measured 0.007)
SIMULATION_ATOL = 0.02


@pytest.fixture(scope="module")
def model(tiny_ernie):
    config = load_config(ROOT / "configs/doc/20ng_tiny.yaml", [f"Model.backbone={tiny_ernie}"])
    paddle.seed(4)
    encoder, _ = load_backbone(str(tiny_ernie))
    net = build_model(config.Model, encoder=encoder, num_labels=4)
    net.eval()
    return net


def _batches(count, seed, batch=4, length=24):
    rng = np.random.RandomState(seed)
    out = []
    for _ in range(count):
        ids = rng.randint(5, 60, size=(batch, 1, length)).astype("int64")
        mask = np.ones_like(ids)
        mask[1, 0, length - 6:] = 0
        ids[mask == 0] = 0
        out.append({"input_ids": ids, "attention_mask": mask})
    return out


def _probs(spec, batches):
    with paddle.no_grad():
        return np.concatenate([spec.layer(*[paddle.to_tensor(b[n]) for n, _, _ in spec.inputs])
                               .numpy() for b in batches])


def _simulated_int8(spec, ranges, batches, monkeypatch):
    """The dynamic graph with every calibrated ``nn.Linear`` computing on fake-quantized
    inputs (``round(x * 127 / range)``) and weights (``round(w * 63 / max|w[:, j]|)``)."""
    linear = nn.Linear.forward

    def fake_quant(self, x):
        if ranges.get(self.weight.name, 0) <= 0:
            return linear(self, x)
        s_in = 127.0 / ranges[self.weight.name]
        xq = paddle.clip(paddle.round(x * s_in), -128, 127) / s_in
        s_w = 63.0 / paddle.clip(paddle.abs(self.weight).max(axis=0), min=1e-30)
        return F.linear(xq, paddle.round(self.weight * s_w) / s_w, self.bias)

    with monkeypatch.context() as m:
        m.setattr(nn.Linear, "forward", fake_quant)
        return _probs(spec, batches)


def test_int8_export_runs_int8_kernels_close_to_fp32(model, tmp_path, monkeypatch):
    spec = model.export_programs()["model"]
    calib, test = _batches(3, seed=1), _batches(5, seed=7)
    fp32 = _probs(spec, test)
    simulated = _simulated_int8(spec, calibrate(spec, calib), test, monkeypatch)

    prefix = tmp_path / "int8" / "model"
    files = quantize_export(spec, iter(calib), prefix)            # any iterable, read once
    assert files == [f"{prefix}.json", f"{prefix}.pdiparams"]
    ops = quantized_ops(prefix)
    # every fully connected layer (ERNIE's q/k/v/out/FFN, the pooling, the classifier) is
    # int8; q, k and v share one quantize of their common input
    assert ops["fc"] > 0 and ops["fc_int8"] == ops["fc"]
    assert 0 < ops["quantize"] < ops["fc"]

    predictor = load_int8_predictor(prefix, cpu_threads=2)
    names = predictor.get_input_names()
    got = []
    for batch in test:
        for name in names:
            handle = predictor.get_input_handle(name)
            handle.reshape(batch[name].shape)
            handle.copy_from_cpu(batch[name])
        predictor.run()
        got.append(predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu())
    got = np.concatenate(got)
    assert got.shape == fp32.shape and np.isfinite(got).all()
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got, simulated, rtol=0, atol=SIMULATION_ATOL)
    np.testing.assert_allclose(got, fp32, rtol=0, atol=FP32_ATOL)
    # an fp32 predictor matches the dynamic graph to 1e-5 (test_export.py): int8 does not
    assert np.abs(got - fp32).max() > 1e-4
    top2 = np.sort(fp32, axis=-1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * FP32_ATOL
    assert clear.sum() >= len(fp32) // 2
    assert (got.argmax(-1) == fp32.argmax(-1))[clear].all()


def test_calibration_errors_name_the_problem(model, tmp_path):
    spec = model.export_programs()["model"]
    with pytest.raises(ValueError, match="at least one batch"):
        calibrate(spec, [])
    with pytest.raises(ValueError, match="missing input.*attention_mask"):
        calibrate(spec, [{"input_ids": np.ones((1, 1, 4), "int64")}])
    with pytest.raises(ValueError, match="weight_bits: expected 7 or 8"):
        quantize_export(spec, _batches(1, seed=0), tmp_path / "model", weight_bits=4)
    assert list(tmp_path.iterdir()) == []


def _tensor(value_id, dtype="0.t_f32", shape=(-1, 8)):
    return {"%": value_id, "TT": {"#": "0.t_dtensor",
                                  "D": [{"#": dtype}, list(shape), "NCHW", [], 0]}}


def _fc(x, w, b, out):
    attrs = {"scale_in": ("0.a_f32", 1.0), "scale_out": ("0.a_f32", 1.0),
             "scale_weights": ("0.a_array", [{"#": "0.a_f32", "D": 1.0}]),
             "force_fp32_output": ("0.a_bool", False),
             "mkldnn_data_type": ("0.a_str", "float32")}
    return {"#": FC_OP, "A": [{"AT": {"#": k, "D": v}, "N": n} for n, (k, v) in attrs.items()],
            "I": [{"%": x}, {"%": w}, {"%": b}], "O": [_tensor(out)]}


def test_quantize_program_rewrites_calibrated_fc_ops_only():
    """Two fc ops on one input share a quantize op; an fc without calibration stays fp32."""
    def param(value_id, name, shape):
        return {"#": "p", "A": [0, 1, 1, name], "O": _tensor(value_id, shape=shape)}

    ops = [param(1, "w_a", (8, 2)), param(2, "b_a", (2,)), param(3, "w_b", (8, 2)),
           param(4, "b_b", (2,)), param(5, "w_c", (8, 2)), param(6, "b_c", (2,)),
           {"#": "1.data", "A": [], "I": [], "O": [_tensor(10)]},
           _fc(10, 1, 2, 11), _fc(10, 3, 4, 12), _fc(10, 5, 6, 13)]
    program = {"program": {"regions": [{"blocks": [{"ops": ops}]}]}}
    weights = {name: np.array([[1.0, -4.0]] * 8, dtype=np.float32)
               for name in ("w_a", "w_b", "w_c")}

    assert quantize_program(program, {"w_a": 2.0, "w_b": 2.0}, weights) == 2

    ops = program["program"]["regions"][0]["blocks"][0]["ops"]
    names = [op["#"] for op in ops]
    assert names[6:] == ["1.data", QUANTIZE_OP, FC_OP, FC_OP, FC_OP]
    quant = ops[7]
    assert quant["I"] == [{"%": 10}] and quant["O"][0]["%"] == 14
    assert quant["O"][0]["TT"]["D"][0] == {"#": "0.t_i8"}
    assert {a["N"]: a["AT"]["D"] for a in quant["A"]}["scale"] == pytest.approx(63.5)
    for fc in ops[8:10]:
        attrs = {a["N"]: a["AT"]["D"] for a in fc["A"]}
        assert fc["I"][0] == {"%": 14}
        assert attrs["scale_in"] == pytest.approx(63.5)
        assert [s["D"] for s in attrs["scale_weights"]] == pytest.approx([63.0, 63.0 / 4])
        assert attrs["force_fp32_output"] is True and attrs["mkldnn_data_type"] == "int8"
    untouched = {a["N"]: a["AT"]["D"] for a in ops[10]["A"]}
    assert ops[10]["I"][0] == {"%": 10} and untouched["mkldnn_data_type"] == "float32"
