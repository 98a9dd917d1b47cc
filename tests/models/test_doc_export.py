"""The exported DocClassifier program under Paddle Inference (oneDNN on and off) against the
dynamic forward: one window per document (head_tail/head) and several windows with padding
windows (chunks), at dynamic batch size, window count and length."""
import numpy as np
import paddle
import pytest

from ernie_res.engine.export import export_programs
from ernie_res.engine.inference_config import InferenceOptions, config_calls
from ernie_res.engine.runners import EagerRunner, InferenceRunner
from ernie_res.models.backbone import load_backbone
from ernie_res.models.doc_classifier import DocClassifier, DocClassifierConfig

K = 4
#: per batch, the window lengths of each document (0 = a padding window) and the padded length
BATCHES = (([[12], [5], [9]], 12),                    # C = 1 (head_tail)
           ([[7]], 7),                                # one document, no padding
           ([[14, 9, 6], [8, 0, 0], [11, 13, 0]], 14),   # C = 3, documents with fewer windows
           ([[6, 6, 6], [6, 6, 6]], 6),               # C = 3, all real
           ([[20, 4]], 20))                           # C = 2, one document


def batch(lengths, t, rng):
    c = max(len(x) for x in lengths)
    ids = np.zeros((len(lengths), c, t), dtype=np.int64)
    mask = np.zeros_like(ids)
    for b, windows in enumerate(lengths):
        for j, n in enumerate(windows):
            if n:
                ids[b, j, :n] = [1] + list(rng.randint(5, 1800, size=n - 2)) + [2]
                mask[b, j, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "_index": np.arange(len(lengths))}


@pytest.fixture(scope="module", params=[
    dict(pooling="attention", chunk_pooling="attention", num_res_blocks=1),
    dict(pooling="mean", chunk_pooling="mean", num_res_blocks=1, res_norm="batch"),
], ids=["attention", "mean-batchnorm"])
def exported(request, tiny_ernie, tmp_path_factory):
    """``(model, directory, programs)``: a trained-looking model (non-trivial batch-norm
    statistics) exported once per configuration."""
    paddle.seed(3)
    encoder, _ = load_backbone(str(tiny_ernie))
    model = DocClassifier(DocClassifierConfig(**request.param), encoder, num_labels=K)
    norms = [n for b in model.residual.blocks for n in (b.norm1, b.norm2) if hasattr(n, "_mean")]
    for norm in norms:
        norm._mean.set_value(paddle.uniform([norm.num_features], min=-0.5, max=0.5))
        norm._variance.set_value(paddle.uniform([norm.num_features], min=0.5, max=2.0))
    model.train()                                     # the export switches to eval itself
    directory = tmp_path_factory.mktemp("doc_export")
    programs, _ = export_programs(model, directory)
    return model, directory, programs


def test_the_program_takes_any_number_of_windows(exported):
    _, _, programs = exported
    assert programs == {"model": {"inputs": [["input_ids", [None, None, None], "int64"],
                                             ["attention_mask", [None, None, None], "int64"]],
                                  "outputs": ["probs"]}}


@pytest.mark.parametrize("onednn", [False, True])
def test_exported_probs_equal_the_forward(exported, onednn):
    model, directory, programs = exported
    options = InferenceOptions(enable_mkldnn=onednn)
    runner = InferenceRunner(directory, programs, lambda inputs: config_calls(options))
    eager = EagerRunner(model)
    rng = np.random.RandomState(0)
    for lengths, t in BATCHES:
        x = batch(lengths, t, rng)
        with paddle.no_grad():
            want = model(paddle.to_tensor(x["input_ids"]),
                         paddle.to_tensor(x["attention_mask"]))["probs"].numpy()
        got = runner.run("model", x)
        assert list(got) == ["probs"] and got["probs"].shape == (len(lengths), K)
        np.testing.assert_allclose(got["probs"], want, rtol=0, atol=1e-5)
        assert got["probs"].argmax(-1).tolist() == want.argmax(-1).tolist()
        np.testing.assert_allclose(eager.run("model", x)["probs"], want, rtol=0, atol=1e-6)


def test_a_document_scores_the_same_with_and_without_padding_windows(exported):
    """Padding windows change nothing in the graph either: a one-window document in a C = 3
    batch gets the probabilities it gets alone in a C = 1 batch."""
    _, directory, programs = exported
    runner = InferenceRunner(directory, programs,
                             lambda inputs: config_calls(InferenceOptions(enable_mkldnn=False)))
    x = batch([[10, 7, 5], [6, 0, 0]], 10, np.random.RandomState(1))
    padded = runner.run("model", x)["probs"]
    first = runner.run("model", {k: v[:1] for k, v in x.items()})["probs"]      # [1, 3, 10]
    second = runner.run("model", {k: v[1:, :1, :6] for k, v in x.items() if k != "_index"})
    np.testing.assert_allclose(padded[0], first[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(padded[1], second["probs"][0], rtol=0, atol=1e-6)   # [1, 1, 6]
