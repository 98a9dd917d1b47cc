"""DocClassifier on the tiny ERNIE: outputs, loss and gradients, determinism, chunked
documents with padding windows, the any-number-of-windows path the export runs, and the
export spec (tests/models/test_doc_export.py runs the exported program)."""
import numpy as np
import paddle
import pytest

from ernie_res.config import ConfigError
from ernie_res.models.backbone import load_backbone
from ernie_res.models.base import ExportSpec
from ernie_res.models.doc_classifier import DocClassifier, DocClassifierConfig

K = 4


def make(tiny, **kw):
    paddle.seed(0)
    encoder, _ = load_backbone(str(tiny))
    return DocClassifier(DocClassifierConfig(**kw), encoder, num_labels=K)


def window(rng, n, t):
    """``[CLS] pieces [SEP]`` of n tokens, padded to t; and its mask."""
    ids = [1] + list(rng.randint(5, 1800, size=n - 2)) + [2] + [0] * (t - n)
    return ids, [1] * n + [0] * (t - n)


def docs(lengths, t):
    """A ``[B, C, T]`` batch: ``lengths[b]`` lists the windows of document b (0 = padding)."""
    rng = np.random.RandomState(0)
    c = max(len(x) for x in lengths)
    ids = np.zeros((len(lengths), c, t), dtype=np.int64)
    mask = np.zeros_like(ids)
    for b, ws in enumerate(lengths):
        for j, n in enumerate(ws):
            if n:
                ids[b, j], mask[b, j] = window(rng, n, t)
    return paddle.to_tensor(ids), paddle.to_tensor(mask)


def test_outputs_and_loss_only_with_labels(tiny_ernie):
    model = make(tiny_ernie)
    model.eval()
    ids, mask = docs([[9], [6], [4]], 9)
    out = model(ids, mask)
    assert set(out) == {"logits", "probs"}
    assert out["logits"].shape == [3, K] and out["probs"].shape == [3, K]
    assert out["logits"].dtype == paddle.float32
    np.testing.assert_allclose(out["probs"].numpy().sum(-1), 1.0, rtol=1e-5)
    labels = paddle.to_tensor([0, 3, 1], dtype="int64")
    out = model(ids, mask, labels=labels)
    assert set(out) == {"logits", "probs", "loss"} and out["loss"].shape == []
    logp = np.log(out["probs"].numpy())
    assert float(out["loss"]) == pytest.approx(-logp[[0, 1, 2], [0, 3, 1]].mean(), rel=1e-5)


def test_backward_reaches_the_head_and_the_encoder(tiny_ernie):
    model = make(tiny_ernie, num_res_blocks=1, pooling="attention", chunk_pooling="attention")
    model.train()
    ids, mask = docs([[9, 5], [6, 0]], 9)
    loss = model(ids, mask, labels=paddle.to_tensor([1, 2], dtype="int64"))["loss"]
    assert np.isfinite(float(loss))
    loss.backward()
    for name, layer in (("classifier", model.classifier), ("residual", model.residual),
                        ("token_pool", model.token_pool), ("chunk_pool", model.chunk_pool),
                        ("encoder", model.encoder)):
        grads = [p.grad for p in layer.parameters() if not p.stop_gradient]
        assert grads and any(g is not None and float(g.abs().sum()) > 0 for g in grads), name
    assert model.classifier.weight.grad is not None


def test_eval_is_deterministic_and_train_uses_dropout(tiny_ernie):
    model = make(tiny_ernie, dropout=0.3)
    ids, mask = docs([[9], [7]], 9)
    model.eval()
    a, b = model(ids, mask)["logits"].numpy(), model(ids, mask)["logits"].numpy()
    np.testing.assert_array_equal(a, b)
    model.train()
    assert not np.allclose(model(ids, mask)["logits"].numpy(), a)


@pytest.mark.parametrize("chunk_pooling", ["attention", "mean"])
def test_padding_windows_are_not_encoded(tiny_ernie, chunk_pooling):
    """A document with fewer windows than the batch scores exactly as it does alone."""
    model = make(tiny_ernie, chunk_pooling=chunk_pooling)
    model.eval()
    seen = []
    encode = model.encode_windows

    def spy(ids, mask):
        seen.append(list(ids.shape))
        assert (mask.numpy().sum(-1) > 0).all()          # no all-padding window
        return encode(ids, mask)

    model.encode_windows = spy
    ids, mask = docs([[10, 7, 5], [6, 0, 0]], 10)
    both = model(ids, mask)["logits"].numpy()
    assert seen == [[4, 10]]                              # 3 + 1 non-empty windows
    first = model(ids[:1], mask[:1])["logits"].numpy()    # [1, 3, T]
    second = model(ids[1:, :1, :6], mask[1:, :1, :6])["logits"].numpy()   # [1, 1, 6] alone
    np.testing.assert_allclose(both[0], first[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(both[1], second[0], rtol=1e-5, atol=1e-6)
    if chunk_pooling == "mean":                           # the mean of the real windows
        vecs = encode(ids[0], mask[0]).numpy()
        doc = paddle.to_tensor(vecs.mean(0, keepdims=True))
        np.testing.assert_allclose(both[0], model.classifier(doc).numpy()[0], rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("pooling", ["cls", "mean", "attention"])
def test_token_pooling_variants(tiny_ernie, pooling):
    model = make(tiny_ernie, pooling=pooling, num_res_blocks=0)
    model.eval()
    ids, mask = docs([[8], [5]], 8)
    vecs = model.encode_windows(ids[:, 0], mask[:, 0]).numpy()
    states = model.encoder(ids[:, 0], attention_mask=mask[:, 0])[0].numpy()
    assert vecs.shape == (2, 32)
    if pooling == "cls":
        np.testing.assert_allclose(vecs, states[:, 0], rtol=1e-5, atol=1e-6)
    elif pooling == "mean":
        np.testing.assert_allclose(vecs[1], states[1, :5].mean(0), rtol=1e-5, atol=1e-6)
    assert (model.token_pool is not None) == (pooling == "attention")
    assert model(ids, mask)["logits"].shape == [2, K]


def test_export_program_layer_returns_the_probabilities(tiny_ernie):
    model = make(tiny_ernie)
    model.eval()
    programs = model.export_programs()
    assert list(programs) == ["model"]
    spec = programs["model"]
    assert isinstance(spec, ExportSpec)
    assert spec.inputs == (("input_ids", [None, None, None], "int64"),
                           ("attention_mask", [None, None, None], "int64"))
    assert spec.outputs == ("probs",)
    for lengths in ([[9], [4]], [[9, 4, 6], [5, 0, 0], [7, 8, 0]]):    # C = 1, C = 3 padded
        ids, mask = docs(lengths, 9)
        got = spec.layer(ids, mask)
        assert isinstance(got, paddle.Tensor)
        np.testing.assert_allclose(got.numpy(), model(ids, mask)["probs"].numpy(), rtol=0,
                                   atol=1e-6)
    assert any(p is q for p, q in zip(spec.layer.parameters(), model.parameters()))
    with pytest.raises(ValueError, match=r"expected input_ids and attention_mask of shape "
                                         r"\[batch_size, num_chunks, seq_len\], got \[1, 5\]"):
        spec.layer(ids[:1, 0, :5], mask[:1, 0, :5])


@pytest.mark.parametrize("chunk_pooling", ["attention", "mean"])
def test_pool_documents_with_one_window_is_the_fast_path(tiny_ernie, chunk_pooling):
    """The export's single path, at C = 1, gives each window weight 1: the same vectors."""
    model = make(tiny_ernie, chunk_pooling=chunk_pooling)
    model.eval()
    ids, mask = docs([[9], [4], [7]], 9)
    fast = model.encode_windows(ids[:, 0], mask[:, 0]).numpy()
    np.testing.assert_allclose(model.pool_documents(ids, mask).numpy(), fast, rtol=0, atol=1e-6)


def test_pool_documents_puts_each_window_back_in_place(tiny_ernie):
    """Window vectors land at their (document, window) slot whatever the padding pattern."""
    model = make(tiny_ernie, chunk_pooling="mean")
    model.eval()
    ids, mask = docs([[0, 6, 0, 9], [5, 0, 0, 0], [8, 7, 4, 0]], 9)   # gaps before windows
    got = model.pool_documents(ids, mask).numpy()
    for b, real in enumerate(([1, 3], [0], [0, 1, 2])):
        vecs = model.encode_windows(ids[b, real], mask[b, real]).numpy()
        np.testing.assert_allclose(got[b], vecs.mean(0), rtol=1e-5, atol=1e-6)


def test_bad_inputs_and_configs(tiny_ernie):
    model = make(tiny_ernie)
    ids, mask = docs([[5]], 5)
    with pytest.raises(ValueError, match=r"expected input_ids and attention_mask of shape "
                                         r"\[batch_size, num_chunks, seq_len\], got \[1, 5\] "
                                         r"and \[1, 5\]"):
        model(ids[:, 0], mask[:, 0])
    with pytest.raises(ValueError, match=r"got \[1, 1, 5\] and \[1, 1, 4\]"):
        model(ids, mask[:, :, :4])
    encoder, _ = load_backbone(str(tiny_ernie))
    with pytest.raises(ValueError, match="DocClassifier: expected at least 2 labels, got 1"):
        DocClassifier(DocClassifierConfig(), encoder, num_labels=1)
    with pytest.raises(ConfigError, match="res_kernel_size: expected an odd number"):
        DocClassifierConfig(res_kernel_size=4)
