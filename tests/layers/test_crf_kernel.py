"""Tests for the fused CPU Viterbi kernel (ernie_res/layers/csrc/crf_viterbi.cc) and its loader.

The brute-force checks of tests/layers/test_crf.py run on both backends; here the kernel is
compared with the Paddle-op implementation on larger batches, and the loader's cache, lock
and fallback are exercised."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest

from ernie_res.layers import crf_kernel
from ernie_res.layers.crf import LinearChainCRF, allowed_transitions

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]


@pytest.fixture
def fresh_loader(monkeypatch):
    """The loader as in a new process: nothing tried yet. Restored afterwards."""
    monkeypatch.setattr(crf_kernel, "_state", {"tried": False, "op": None, "error": None})


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("seq_len", [1, 2, 37, 70])
def test_kernel_equals_paddle_ops_on_random_batches(dtype, constrained, seq_len):
    rng = np.random.default_rng(seq_len)
    constraints = allowed_transitions(LABELS, "IOB2") if constrained else None
    crf = LinearChainCRF(len(LABELS), constraints=constraints)
    for param in crf.parameters():
        param.set_value(rng.uniform(-3, 3, param.shape).astype("float32"))
    emissions = paddle.to_tensor(rng.normal(0, 4, [64, seq_len, len(LABELS)]).astype(dtype))
    lengths = paddle.to_tensor(rng.integers(1, seq_len + 1, [64]))
    kernel_scores, kernel_paths = crf.viterbi_decode(emissions, lengths=lengths, backend="kernel")
    paddle_scores, paddle_paths = crf.viterbi_decode(emissions, lengths=lengths, backend="paddle")
    assert kernel_scores.dtype == paddle_scores.dtype == getattr(paddle, dtype)
    assert kernel_paths.dtype == paddle.int64 and kernel_paths.shape == [64, seq_len]
    np.testing.assert_array_equal(kernel_paths.numpy(), paddle_paths.numpy())
    np.testing.assert_allclose(kernel_scores.numpy(), paddle_scores.numpy(), rtol=1e-5 if dtype == "float32" else 1e-12)


def test_auto_uses_the_kernel_on_cpu(monkeypatch):
    crf = LinearChainCRF(3)
    calls = []
    real = crf_kernel.load()

    def spy():
        calls.append(1)
        return real
    monkeypatch.setattr(crf_kernel, "load", spy)
    crf.viterbi_decode(paddle.randn([2, 4, 3]))
    crf.viterbi_decode(paddle.randn([2, 4, 3]), backend="paddle")
    assert calls == [1]


def test_the_op_rejects_lengths_out_of_range():
    op = crf_kernel.load()
    emissions, trans, start, end = paddle.randn([2, 3, 4]), paddle.randn([4, 4]), paddle.randn([4]), paddle.randn([4])
    with pytest.raises(Exception, match=r"expected lengths in \[1, 3\], got 0 in row 1"):
        op(emissions, paddle.to_tensor([3, 0], dtype="int64"), trans, start, end)


def test_disabled_kernel_falls_back_and_kernel_backend_says_why(fresh_loader, monkeypatch):
    monkeypatch.setenv(crf_kernel.ENV_SWITCH, "0")
    assert crf_kernel.load() is None
    assert crf_kernel.load_error() == "disabled by ERNIE_RES_CRF_KERNEL=0"
    crf, emissions = LinearChainCRF(3), paddle.randn([2, 4, 3])
    assert crf.viterbi_decode(emissions)[1].shape == [2, 4]  # auto: Paddle ops
    with pytest.raises(RuntimeError, match="Viterbi kernel is unavailable: disabled by ERNIE_RES_CRF_KERNEL=0"):
        crf.viterbi_decode(emissions, backend="kernel")


def test_a_mistyped_switch_is_an_error_not_a_silent_choice(fresh_loader, monkeypatch):
    monkeypatch.setenv(crf_kernel.ENV_SWITCH, "of")
    crf = LinearChainCRF(3)
    for _ in range(2):  # still an error on the second call
        with pytest.raises(ValueError, match="ERNIE_RES_CRF_KERNEL: expected one of 0/off/false/no or 1/on/true/yes, "
                                             "got 'of'"):
            crf.viterbi_decode(paddle.randn([1, 2, 3]))
    monkeypatch.setenv(crf_kernel.ENV_SWITCH, "off")
    assert crf_kernel.load() is None


def test_a_failed_build_is_logged_once_and_decoding_still_works(fresh_loader, monkeypatch, caplog):
    attempts = []

    def broken():
        attempts.append(1)
        raise OSError("no C++ compiler found")
    monkeypatch.setattr(crf_kernel, "_build_and_load", broken)
    crf, emissions = LinearChainCRF(3), paddle.randn([2, 4, 3])
    with caplog.at_level(logging.WARNING, logger="ernie_res"):
        expected = crf.viterbi_decode(emissions, backend="paddle")[1].numpy()
        for _ in range(3):
            np.testing.assert_array_equal(crf.viterbi_decode(emissions)[1].numpy(), expected)
    assert attempts == [1]
    warnings = [r.getMessage() for r in caplog.records if "kernel is unavailable" in r.getMessage()]
    assert len(warnings) == 1 and "OSError: no C++ compiler found" in warnings[0]


def test_unknown_backend_is_rejected():
    with pytest.raises(ValueError, match="expected backend 'auto', 'kernel' or 'paddle', got 'cpp'"):
        LinearChainCRF(3).viterbi_decode(paddle.randn([1, 2, 3]), backend="cpp")


def test_cache_key_follows_the_source_and_the_directory_setting(monkeypatch, tmp_path):
    monkeypatch.setenv(crf_kernel.ENV_DIR, str(tmp_path))
    original = crf_kernel.cache_dir()
    assert original.parent == tmp_path and original.name.startswith(crf_kernel.OP_NAME + "-")
    edited = tmp_path / "crf_viterbi.cc"
    edited.write_bytes(crf_kernel.SOURCE.read_bytes() + b"\n// edited\n")
    monkeypatch.setattr(crf_kernel, "SOURCE", edited)
    assert crf_kernel.cache_dir() != original


LOAD_AND_DECODE = """
import logging, sys
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
import paddle
from ernie_res.layers import crf_kernel
from ernie_res.layers.crf import LinearChainCRF
paddle.seed(0)
crf = LinearChainCRF(5)
print("paths", crf.viterbi_decode(paddle.randn([3, 6, 5]), backend="kernel")[1].numpy().tolist())
"""


@pytest.mark.slow
@pytest.mark.ci
def test_concurrent_first_uses_compile_once_and_later_processes_only_load(tmp_path, monkeypatch):
    monkeypatch.setenv(crf_kernel.ENV_DIR, str(tmp_path))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop(crf_kernel.ENV_SWITCH, None)
    command = [sys.executable, "-c", LOAD_AND_DECODE]
    first = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [process.communicate(timeout=600)[0] for process in first]
    assert all(process.returncode == 0 for process in first), outputs
    assert sum("compiling the CPU Viterbi kernel" in output for output in outputs) == 1, outputs
    later = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=600, check=True).stdout
    assert "compiling the CPU Viterbi kernel" not in later
    paths = {line for output in outputs + [later] for line in output.splitlines() if line.startswith("paths")}
    assert len(paths) == 1  # same seed, same paths in all three processes
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [crf_kernel.cache_dir().name]  # no staging left


def test_strided_views_are_decoded_as_their_values():
    """A transposed or sliced view is not contiguous in memory; the kernel must see its values."""
    rng = np.random.default_rng(3)
    crf = LinearChainCRF(5)
    base = paddle.to_tensor(rng.normal(0, 3, [6, 4, 5]).astype("float32"))
    for view in (base.transpose([1, 0, 2]), base[:, ::2], base[1:, 1:]):
        assert not view.is_contiguous()
        expected = crf.viterbi_decode(view.contiguous(), backend="paddle")
        actual = crf.viterbi_decode(view, backend="kernel")
        np.testing.assert_array_equal(actual[1].numpy(), expected[1].numpy())
        np.testing.assert_allclose(actual[0].numpy(), expected[0].numpy(), rtol=1e-6)
