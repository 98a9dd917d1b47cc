"""RelClassifier: shapes for every ablation, entity pooling against hand computation, checks,
and the export spec."""
import itertools

import numpy as np
import paddle
import pytest

from ernie_res.models.base import ExportSpec
from ernie_res.models.rel_classifier import (POOLINGS, RelClassifier, RelClassifierConfig,
                                             span_inner_mask)

B, T, H = 3, 9, 16


@pytest.fixture(scope="module")
def encoder():
    from paddlenlp.transformers import ErnieConfig, ErnieModel

    paddle.seed(0)
    cfg = ErnieConfig(vocab_size=50, hidden_size=H, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=32, type_vocab_size=2,
                      pad_token_id=0)
    return ErnieModel(cfg)


def batch():
    rng = np.random.RandomState(0)
    ids = rng.randint(5, 50, size=(B, T))
    mask = np.ones((B, T), dtype=np.int64)
    mask[1, 7:] = 0                      # a padded row
    ids[mask == 0] = 0
    e1 = np.array([[1, 3], [2, 4], [1, 5]])     # (start marker, end marker)
    e2 = np.array([[4, 7], [5, 6], [6, 8]])     # row 1: nothing between its markers
    return {k: paddle.to_tensor(v, dtype="int64") for k, v in
            dict(input_ids=ids, attention_mask=mask, e1_span=e1, e2_span=e2).items()}


def make(encoder, **kw):
    paddle.seed(1)
    model = RelClassifier(RelClassifierConfig(attention_heads=2, **kw), encoder, num_labels=19)
    model.eval()
    return model


@pytest.mark.parametrize("pooling,attention,residual",
                         list(itertools.product(("cls", "entity_start", "entity_mean"),
                                                (True, False), (True, False))))
def test_forward_shapes_for_every_ablation(encoder, pooling, attention, residual):
    model = make(encoder, pooling=pooling, use_attention=attention, use_residual=residual)
    x = batch()
    out = model(**x, labels=paddle.to_tensor([0, 5, 18], dtype="int64"))
    assert out["logits"].shape == [B, 19] and out["probs"].shape == [B, 19]
    np.testing.assert_allclose(out["probs"].numpy().sum(-1), 1.0, rtol=1e-5)
    assert out["loss"].shape == [] and np.isfinite(float(out["loss"]))
    assert "loss" not in model(**x)
    n_parts = {"cls": 1, "entity_start": 3, "entity_mean": 3}[pooling]
    n_parts += ({"cls": 1}.get(pooling, 2) if attention else 0)
    assert model.fuse.weight.shape == [n_parts * H, H]
    assert (model.attention is not None) == attention
    assert (model.residual is not None) == residual


def test_entity_pooling_matches_hand_computation(encoder):
    x = batch()
    states = encoder(x["input_ids"], attention_mask=x["attention_mask"])[0].numpy()
    e1, e2 = x["e1_span"].numpy(), x["e2_span"].numpy()
    mean = make(encoder, pooling="entity_mean").features(**x)["entities"].numpy()
    start = make(encoder, pooling="entity_start").features(**x)["entities"].numpy()
    cls = make(encoder, pooling="cls").features(**x)["entities"].numpy()
    for b in range(B):
        for k, span in enumerate((e1[b], e2[b])):
            inner = states[b, span[0] + 1:span[1]]
            want = inner.mean(0) if len(inner) else np.zeros(H)   # empty: zeros
            np.testing.assert_allclose(mean[b, k], want, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(start[b, k], states[b, span[0]], rtol=1e-6)
        np.testing.assert_allclose(cls[b, 0], states[b, 0], rtol=1e-6)
    assert mean.shape == (B, 2, H) and cls.shape == (B, 1, H)


def test_span_inner_mask():
    span = paddle.to_tensor([[1, 4], [0, 1]], dtype="int64")
    want = [[False, False, True, True, False, False], [False] * 6]
    assert span_inner_mask(span, 6).numpy().tolist() == want
    length = paddle.shape(paddle.zeros([2, 6]))[1]          # T as a tensor (traced graphs)
    assert span_inner_mask(span, length).numpy().tolist() == want


def test_bad_inputs_raise_clear_errors(encoder):
    model = make(encoder)
    x = batch()
    bad = dict(x, e1_span=paddle.zeros([B, 3], dtype="int64"))
    with pytest.raises(ValueError, match=r"expected e1_span of shape \[batch_size, 2\] = "
                                         r"\[3, 2\] \(start and end marker positions\), "
                                         r"got \[3, 3\]"):
        model(**bad)
    bad = dict(x, e2_span=paddle.zeros([B - 1, 2], dtype="int64"))
    with pytest.raises(ValueError, match=r"expected e2_span of shape .* got \[2, 2\]"):
        model(**bad)
    bad = dict(x, e1_span=paddle.zeros([B, 2], dtype="float32"))
    with pytest.raises(ValueError, match="expected e1_span of an integer dtype"):
        model(**bad)
    bad = dict(x, attention_mask=x["attention_mask"][:, :4])
    with pytest.raises(ValueError, match=r"expected attention_mask of shape \[3, 9\] \(as "
                                         r"input_ids\), got \[3, 4\]"):
        model(**bad)
    with pytest.raises(ValueError, match=r"expected input_ids of shape \[batch_size, seq_len\]"):
        model(**dict(x, input_ids=x["input_ids"].unsqueeze(0)))
    with pytest.raises(ValueError, match=r"expected labels of shape \[batch_size\] = \[3\]"):
        model(**x, labels=paddle.zeros([2], dtype="int64"))
    with pytest.raises(ValueError, match="expected attention_heads to divide the hidden size 16, "
                                         "got 3"):
        RelClassifier(RelClassifierConfig(attention_heads=3), encoder, num_labels=19)
    with pytest.raises(ValueError, match="expected at least 2 labels, got 1"):
        RelClassifier(RelClassifierConfig(attention_heads=2), encoder, num_labels=1)


def test_tiny_ernie_loss_gradients_and_eval_determinism(tiny_ernie):
    from ernie_res.models.backbone import load_backbone

    paddle.seed(0)
    tiny, _ = load_backbone(str(tiny_ernie))
    model = RelClassifier(RelClassifierConfig(attention_heads=2, dropout=0.3), tiny,
                          num_labels=19)
    x = batch()
    labels = paddle.to_tensor([0, 5, 18], dtype="int64")
    model.train()
    out = model(**x, labels=labels)
    assert set(out) == {"logits", "probs", "loss"} and np.isfinite(float(out["loss"]))
    out["loss"].backward()
    for name, layer in (("classifier", model.classifier), ("fuse", model.fuse),
                        ("attention", model.attention), ("residual", model.residual),
                        ("encoder", model.encoder)):
        grads = [p.grad for p in layer.parameters()]
        assert any(g is not None and float(g.abs().sum()) > 0 for g in grads), name
    model.eval()
    a, b = model(**x), model(**x)
    assert set(a) == {"logits", "probs"}
    np.testing.assert_array_equal(a["logits"].numpy(), b["logits"].numpy())


@pytest.mark.parametrize("pooling", POOLINGS)
def test_export_spec_takes_the_collate_inputs_and_returns_the_probs(encoder, pooling):
    """tests/models/test_rel_export.py runs the exported program."""
    model = make(encoder, pooling=pooling)
    programs = model.export_programs()
    assert list(programs) == ["model"]
    spec = programs["model"]
    assert isinstance(spec, ExportSpec) and spec.outputs == ("probs",)
    text = (("input_ids", [None, None], "int64"), ("attention_mask", [None, None], "int64"))
    spans = (("e1_span", [None, 2], "int64"), ("e2_span", [None, 2], "int64"))
    assert spec.inputs == (text if pooling == "cls" else text + spans)   # cls reads no span
    x = batch()
    got = spec.layer(*[x[name] for name, _, _ in spec.inputs])
    assert isinstance(got, paddle.Tensor)
    np.testing.assert_allclose(got.numpy(), model(**x)["probs"].numpy(), rtol=0, atol=1e-6)
    assert any(p is q for p, q in zip(spec.layer.parameters(), model.parameters()))


def test_spans_are_optional_only_for_cls_pooling(encoder):
    x = batch()
    text = {k: x[k] for k in ("input_ids", "attention_mask")}
    cls = make(encoder, pooling="cls")
    np.testing.assert_array_equal(cls(**text)["logits"].numpy(), cls(**x)["logits"].numpy())
    for pooling in ("entity_start", "entity_mean"):
        with pytest.raises(ValueError, match=rf"expected e1_span \(pooling={pooling} reads the "
                                             rf"entity marker positions\), got None"):
            make(encoder, pooling=pooling)(**text)
    with pytest.raises(ValueError, match="expected e2_span .* got None"):
        make(encoder)(**dict(text, e1_span=x["e1_span"]))
