"""The deploy flags -> Paddle Inference Config calls: checked on the CPU, GPU and TensorRT
included (no GPU here can run Paddle, so the calls are data and the tests read them)."""
import pytest

from ernie_res.engine.inference_config import (InferenceConfigError, InferenceOptions,
                                               build_config, config_calls,
                                               default_cpu_threads)

INPUTS = (("input_ids", [None, 1, None], "int64"), ("attention_mask", [None, 1, None], "int64"))


def names(calls):
    return [m for m, _ in calls]


def test_cpu_defaults_to_onednn_and_leaves_threads_alone():
    calls = config_calls(InferenceOptions())
    assert names(calls) == ["disable_gpu", "enable_mkldnn", "disable_glog_info"]
    calls = config_calls(InferenceOptions(cpu_threads=3, enable_mkldnn=False))
    assert calls[:3] == [("disable_gpu", ()), ("set_cpu_math_library_num_threads", (3,)),
                         ("disable_mkldnn", ())]


def test_cpu_precisions():
    assert "enable_mkldnn_bfloat16" in names(
        config_calls(InferenceOptions(precision="bf16"), cpu_supports_bf16=True))
    with pytest.raises(InferenceConfigError, match="no bfloat16 support"):
        config_calls(InferenceOptions(precision="bf16"), cpu_supports_bf16=False)
    assert names(config_calls(InferenceOptions(), "int8"))[1:3] == ["enable_mkldnn",
                                                                    "enable_mkldnn_int8"]
    with pytest.raises(InferenceConfigError, match="through oneDNN; drop --enable_mkldnn false"):
        config_calls(InferenceOptions(enable_mkldnn=False), "int8")
    with pytest.raises(InferenceConfigError, match="fp16: runs on a GPU"):
        config_calls(InferenceOptions(precision="fp16"))


def test_exported_and_requested_precision_must_fit():
    with pytest.raises(InferenceConfigError, match="int8 needs a calibrated program"):
        config_calls(InferenceOptions(precision="int8"), "fp32")
    with pytest.raises(InferenceConfigError, match="exported with --precision int8"):
        config_calls(InferenceOptions(precision="fp32"), "int8")
    with pytest.raises(InferenceConfigError, match="precision: expected one of"):
        config_calls(InferenceOptions(precision="fp64"))


def test_gpu_and_tensorrt_calls():
    calls = config_calls(InferenceOptions(device="gpu", precision="fp16", gpu_id=1))
    assert calls[0] == ("enable_use_gpu", (256, 1, ("precision", "fp16")))
    calls = dict(config_calls(InferenceOptions(device="gpu", use_tensorrt=True,
                                               max_batch_size=8, max_length=128),
                              "int8", INPUTS))
    assert calls["enable_use_gpu"] == (256, 0, ("precision", "fp32"))
    assert calls["enable_tensorrt_engine"] == (1 << 30, 8, 3, ("precision", "int8"), False,
                                               False)
    lo, hi, opt = calls["set_trt_dynamic_shape_info"]
    assert lo["input_ids"] == [1, 1, 1] and hi["input_ids"] == [8, 1, 128]
    assert opt["attention_mask"] == [8, 1, 64]


@pytest.mark.parametrize("options, message", [
    (InferenceOptions(use_tensorrt=True), "TensorRT runs on a GPU; add --device gpu"),
    (InferenceOptions(device="gpu", enable_mkldnn=True), "oneDNN is a CPU library"),
    (InferenceOptions(device="tpu"), "device: expected cpu or gpu"),
    (InferenceOptions(cpu_threads=0), "cpu_threads: expected an integer >= 1"),
    (InferenceOptions(cpu_threads=True), "cpu_threads: expected an integer >= 1"),
])
def test_impossible_combinations_say_what_would_work(options, message):
    with pytest.raises(InferenceConfigError, match=message):
        config_calls(options)


def test_gpu_int8_needs_tensorrt():
    with pytest.raises(InferenceConfigError, match="int8 on a GPU runs through TensorRT"):
        config_calls(InferenceOptions(device="gpu"), "int8")


def test_build_config_makes_the_calls(tmp_path):
    (tmp_path / "m.json").write_text("{}")
    (tmp_path / "m.pdiparams").write_bytes(b"")
    config = build_config(tmp_path / "m.json", tmp_path / "m.pdiparams",
                          config_calls(InferenceOptions(cpu_threads=2)))
    assert not config.use_gpu() and config.mkldnn_enabled()
    assert config.cpu_math_library_num_threads() == 2
    config = build_config(tmp_path / "m.json", tmp_path / "m.pdiparams",
                          config_calls(InferenceOptions(enable_mkldnn=False)))
    assert not config.mkldnn_enabled()


def test_tensorrt_refuses_a_program_with_state_inputs():
    step = (("token", [None], "int64"), ("state", [1, None, 8], "float32"))
    with pytest.raises(InferenceConfigError, match="this program also takes state"):
        config_calls(InferenceOptions(device="gpu", use_tensorrt=True), "fp32", step)


def test_default_threads_follow_omp_num_threads_as_the_dynamic_graph_does():
    assert default_cpu_threads({"OMP_NUM_THREADS": "4"}) == 4
    assert default_cpu_threads({}) is None                       # Paddle's own default: 1
    assert default_cpu_threads({"OMP_NUM_THREADS": "0"}) is None
    assert default_cpu_threads({"OMP_NUM_THREADS": "four"}) is None
