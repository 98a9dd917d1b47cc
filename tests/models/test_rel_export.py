"""The exported RelClassifier program under Paddle Inference (oneDNN on and off) against the
dynamic forward, on a tiny ERNIE with the entity marker tokens, at dynamic batch size and
length, with padding and with entities whose markers are adjacent."""
import numpy as np
import paddle
import pytest

from ernie_res.data.entity_markers import DEFAULT_MARKERS
from ernie_res.engine.export import export_programs
from ernie_res.engine.inference_config import InferenceOptions, config_calls
from ernie_res.engine.runners import EagerRunner, InferenceRunner
from ernie_res.models.backbone import add_marker_tokens, load_backbone
from ernie_res.models.rel_classifier import RelClassifier, RelClassifierConfig

K = 19


def batch(rng, marker_ids, lengths, adjacent=()):
    """A collated batch: ``[CLS] ... [E1] .. [/E1] .. [E2] .. [/E2] .. [SEP]`` per row, padded
    to the longest; rows in ``adjacent`` have nothing between e1's markers."""
    t = max(lengths)
    x = {"input_ids": np.zeros((len(lengths), t), np.int64),
         "attention_mask": np.zeros((len(lengths), t), np.int64),
         "e1_span": np.zeros((len(lengths), 2), np.int64),
         "e2_span": np.zeros((len(lengths), 2), np.int64),
         "_index": np.arange(len(lengths))}
    for r, n in enumerate(lengths):
        x["input_ids"][r, :n] = [1] + list(rng.randint(5, 1800, size=n - 2)) + [2]
        x["attention_mask"][r, :n] = 1
        pos = np.sort(rng.choice(np.arange(1, n - 1), 4, replace=False))
        if r in adjacent:
            pos[1] = pos[0] + 1
        for k in range(4):
            x["input_ids"][r, pos[k]] = marker_ids[k]
        x["e1_span"][r], x["e2_span"][r] = pos[:2], pos[2:]
    return x


@pytest.fixture(scope="module")
def encoder(tiny_ernie):
    """The tiny ERNIE with embedding rows for the four markers, and their ids."""
    encoder, tokenizer = load_backbone(str(tiny_ernie))
    ids, _ = add_marker_tokens(encoder, tokenizer, DEFAULT_MARKERS)
    return encoder, ids


@pytest.fixture(scope="module", params=[
    dict(pooling="entity_start", use_attention=True, use_residual=True),
    dict(pooling="entity_mean", use_attention=True, use_residual=False),
    dict(pooling="cls", use_attention=True, use_residual=True),
], ids=lambda p: p["pooling"])
def exported(request, encoder, tmp_path_factory):
    """``(model, directory, programs, marker ids)`` per ablation, exported once."""
    net, marker_ids = encoder
    paddle.seed(2)
    model = RelClassifier(RelClassifierConfig(attention_heads=2, **request.param), net,
                          num_labels=K)
    model.train()                                     # the export switches to eval itself
    directory = tmp_path_factory.mktemp("rel_export")
    programs, _ = export_programs(model, directory)
    return model, directory, programs, marker_ids


def test_the_program_takes_the_marker_positions(exported):
    model, _, programs, _ = exported
    names = [name for name, _, _ in programs["model"]["inputs"]]
    spans = [] if model.config.pooling == "cls" else ["e1_span", "e2_span"]
    assert names == ["input_ids", "attention_mask"] + spans
    assert programs["model"]["outputs"] == ["probs"]
    assert all(shape == [None, 2] for name, shape, _ in programs["model"]["inputs"]
               if name in spans)


@pytest.mark.parametrize("onednn", [False, True])
def test_exported_probs_equal_the_forward(exported, onednn):
    model, directory, programs, marker_ids = exported
    options = InferenceOptions(enable_mkldnn=onednn)
    runner = InferenceRunner(directory, programs, lambda inputs: config_calls(options))
    eager = EagerRunner(model)
    rng = np.random.RandomState(0)
    for lengths, adjacent in (([14, 9, 20, 7], (1,)), ([31], (0,))):
        x = batch(rng, marker_ids, lengths, adjacent)      # the whole collate batch: runners
        with paddle.no_grad():                             # take the inputs they declare
            want = model(**{k: paddle.to_tensor(v) for k, v in x.items()
                            if not k.startswith("_")})["probs"].numpy()
        got = runner.run("model", x)
        assert list(got) == ["probs"] and got["probs"].shape == (len(lengths), K)
        np.testing.assert_allclose(got["probs"], want, rtol=0, atol=1e-5)
        assert got["probs"].argmax(-1).tolist() == want.argmax(-1).tolist()
        np.testing.assert_allclose(eager.run("model", x)["probs"], want, rtol=0, atol=1e-6)


def test_the_spans_reach_the_graph(exported):
    """Moving an entity changes the exported probabilities (the spans are real inputs)."""
    model, directory, programs, marker_ids = exported
    if model.config.pooling == "cls":
        pytest.skip("pooling=cls reads no span")
    runner = InferenceRunner(directory, programs,
                             lambda inputs: config_calls(InferenceOptions(enable_mkldnn=False)))
    x = batch(np.random.RandomState(3), marker_ids, [16])
    moved = dict(x, e1_span=x["e1_span"] + np.array([[-1, 0]]))   # e1 starts one token earlier
    a, b = runner.run("model", x)["probs"], runner.run("model", moved)["probs"]
    assert np.abs(a - b).max() > 1e-4
    with paddle.no_grad():
        want = model(**{k: paddle.to_tensor(v) for k, v in moved.items()
                        if not k.startswith("_")})["probs"].numpy()
    np.testing.assert_allclose(b, want, rtol=0, atol=1e-5)
