"""SeqTagger on the tiny ERNIE: emissions at the first piece of each word, CRF and softmax
heads (loss, gradients, predictions at padded word slots), constrained decoding, the export
program's spec."""
import numpy as np
import paddle
import pytest

from ernie_res.data.tagging import is_valid
from ernie_res.models.backbone import load_backbone
from ernie_res.models.seq_tagger import SeqTagger, SeqTaggerConfig

IOB2 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
BIOES = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]


def make(tiny, labels=IOB2, scheme="IOB2", **kw):
    paddle.seed(0)
    encoder, _ = load_backbone(str(tiny))
    return SeqTagger(SeqTaggerConfig(**kw), encoder, labels, scheme=scheme)


def batch(labels=True):
    """Two windows: 4 words over 9 pieces, and 2 words over 5 pieces (padded)."""
    rng = np.random.RandomState(0)
    ids = np.zeros((2, 9), dtype=np.int64)
    ids[0] = [1] + list(rng.randint(5, 1800, 7)) + [2]
    ids[1, :5] = [1] + list(rng.randint(5, 1800, 3)) + [2]
    mask = (ids > 0).astype(np.int64)
    out = {"input_ids": ids, "attention_mask": mask,
           "word_index": np.array([[1, 2, 4, 7], [1, 3, 0, 0]]),
           "word_mask": np.array([[1, 1, 1, 1], [1, 1, 0, 0]])}
    if labels:
        out["labels"] = np.array([[1, 2, 0, 3], [3, 0, 0, 0]])
    return {k: paddle.to_tensor(v, dtype="int64") for k, v in out.items()}


@pytest.mark.parametrize("head", ["crf", "softmax"])
def test_outputs_loss_and_gradients(tiny_ernie, head):
    model = make(tiny_ernie, head=head)
    model.train()
    out = model(**batch())
    assert set(out) == {"emissions", "loss"}                 # no decoding while training
    assert out["emissions"].shape == [2, 4, 5] and out["emissions"].dtype == paddle.float32
    assert out["loss"].shape == [] and np.isfinite(float(out["loss"]))
    out["loss"].backward()
    assert model.emissions.weight.grad is not None
    assert float(model.emissions.weight.grad.abs().sum()) > 0
    assert model.encoder.get_input_embeddings().weight.grad is not None
    if head == "crf":
        assert model.crf.transitions.grad is not None
    else:
        assert model.crf is None
    model.eval()
    out = model(**batch(labels=False))
    assert set(out) == {"emissions", "predictions"}
    assert out["predictions"].shape == [2, 4] and out["predictions"].dtype == paddle.int64


def test_softmax_loss_averages_the_real_words(tiny_ernie):
    model = make(tiny_ernie, head="softmax")
    model.eval()
    b = batch()
    out = model(**b)
    logp = paddle.nn.functional.log_softmax(out["emissions"], -1).numpy()
    gold, keep = b["labels"].numpy(), b["word_mask"].numpy().astype(bool)
    want = -np.take_along_axis(logp, gold[..., None], -1)[..., 0][keep].mean()
    assert float(out["loss"]) == pytest.approx(want, rel=1e-5)
    # a padded slot's label does not matter
    b["labels"] = paddle.to_tensor(np.where(keep, gold, 4), dtype="int64")
    assert float(model(**b)["loss"]) == pytest.approx(want, rel=1e-5)


def test_emissions_score_the_first_piece_of_each_word(tiny_ernie):
    model = make(tiny_ernie, num_res_blocks=0)
    model.eval()
    b = batch()
    states = model.encoder(b["input_ids"], attention_mask=b["attention_mask"])[0]
    em = model(**b)["emissions"].numpy()
    idx = b["word_index"].numpy()
    for r in range(2):
        want = model.emissions(states[r][paddle.to_tensor(idx[r])]).numpy()
        np.testing.assert_allclose(em[r], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("head", ["crf", "softmax"])
def test_predictions_are_zero_at_padded_word_slots(tiny_ernie, head):
    model = make(tiny_ernie, head=head)
    model.eval()
    with paddle.no_grad():
        model.emissions.bias.set_value(paddle.to_tensor([0, 0, 0, 9.0, 0]))   # B-LOC everywhere
    pred = model(**batch(labels=False))["predictions"].numpy()
    assert pred[1, 2:].tolist() == [0, 0]
    assert (pred[0] != 0).all() and (pred[1, :2] != 0).all()


@pytest.mark.parametrize("labels,scheme,favoured", [(IOB2, "IOB2", "I-PER"),
                                                    (BIOES, "BIOES", "I-PER")])
def test_constrained_decoding_obeys_the_scheme(tiny_ernie, labels, scheme, favoured):
    bias = np.zeros(len(labels), dtype=np.float32)
    bias[labels.index(favoured)] = 20.0                     # only invalid paths on emissions
    paths = {}
    for constrain in (True, False):
        model = make(tiny_ernie, labels=labels, scheme=scheme, constrain_decoding=constrain)
        model.eval()
        with paddle.no_grad():
            model.emissions.bias.set_value(paddle.to_tensor(bias))
        b = batch(labels=False)
        pred = model(**b)["predictions"].numpy()
        n = b["word_mask"].numpy().sum(-1)
        paths[constrain] = [[labels[k] for k in pred[r, :n[r]]] for r in range(2)]
    assert all(is_valid(p, scheme) for p in paths[True]), paths[True]
    assert not any(is_valid(p, scheme) for p in paths[False])   # what the constraints prevent
    assert (make(tiny_ernie, constrain_decoding=False).crf.constrained is False)


def test_eval_is_deterministic(tiny_ernie):
    model = make(tiny_ernie, dropout=0.3, num_res_blocks=1, use_attention=True,
                 attention_heads=2)
    model.eval()
    a, b = model(**batch()), model(**batch())
    np.testing.assert_array_equal(a["emissions"].numpy(), b["emissions"].numpy())
    np.testing.assert_array_equal(a["predictions"].numpy(), b["predictions"].numpy())
    assert float(a["loss"]) == float(b["loss"])


def test_attention_heads_must_divide_the_hidden_size(tiny_ernie):
    with pytest.raises(ValueError, match="SeqTagger: hidden size 32 is not divisible by "
                                         "attention_heads=3"):
        make(tiny_ernie, use_attention=True, attention_heads=3)


@pytest.mark.parametrize("head", ["crf", "softmax"])
def test_the_export_program_gives_the_forward_predictions(tiny_ernie, head):
    """``tests/models/test_seq_export.py`` checks the decoding and the exported program."""
    model = make(tiny_ernie, head=head)
    programs = model.export_programs()
    assert list(programs) == ["model"]
    spec = programs["model"]
    assert spec.inputs == (("input_ids", [None, None], "int64"),
                           ("attention_mask", [None, None], "int64"),
                           ("word_index", [None, None], "int64"),
                           ("word_mask", [None, None], "int64"))
    assert spec.outputs == ("predictions",)
    model.eval()
    b = batch(labels=False)
    with paddle.no_grad():
        got = spec.layer(*[b[name] for name, _, _ in spec.inputs]).numpy()
        want = model(**b)["predictions"].numpy()
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    assert got[1, 2:].tolist() == [0, 0]
