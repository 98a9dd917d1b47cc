"""SeqTagger's export: Viterbi decoding inside the graph (``paddle.text.viterbi_decode`` with the
CRF's start, end and constraint scores folded into the op's BOS/EOS matrix) against brute-force
enumeration and our CRF, and the exported program under Paddle Inference (oneDNN on and off)
against the dynamic model's ``predictions``."""
import itertools
import json
from pathlib import Path

import numpy as np
import paddle
import pytest

from ernie_res.api import load_config
from ernie_res.data.tagging import is_valid
from ernie_res.engine.export import export_programs
from ernie_res.engine.inference_config import InferenceOptions, config_calls
from ernie_res.engine.runners import EagerRunner, InferenceRunner
from ernie_res.layers.crf import LinearChainCRF, allowed_transitions
from ernie_res.models.backbone import load_backbone
from ernie_res.models.seq_tagger import SeqTagger, SeqTaggerConfig, decode_in_graph
from ernie_res.tasks.seq import SeqTask

ROOT = Path(__file__).resolve().parents[2]
IOB2 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
BIOES = ["O", "B-X", "I-X", "E-X", "S-X"]
#: per batch, (word pieces, words) of each window; padded to the longest
BATCHES = ([(12, 6), (7, 3), (9, 1)],
           [(5, 1)],
           [(20, 11), (6, 4)],
           [(30, 20), (8, 2), (16, 14), (3, 1)])


def loud_crf(labels, scheme, rng):
    """A constrained CRF whose start and end scores outweigh the emissions (so that a mistake
    in folding them into the op's matrix changes paths), and its float64 parameters."""
    crf = LinearChainCRF(len(labels), constraints=allowed_transitions(labels, scheme))
    for param, scale in ((crf.transitions, 3.0), (crf.start_transitions, 12.0),
                         (crf.end_transitions, 12.0)):
        param.set_value(rng.uniform(-scale, scale, param.shape).astype("float32"))
    return crf, [p.numpy().astype(np.float64) for p in
                 (crf.transitions, crf.start_transitions, crf.end_transitions)]


def best_valid_path(emissions, labels, scheme, trans, start, end):
    """Enumerate every well-formed path of ``emissions`` ``[n, L]`` (float64)."""
    best, best_path = -np.inf, None
    for path in itertools.product(range(len(labels)), repeat=len(emissions)):
        if not is_valid([labels[k] for k in path], scheme):
            continue
        score = start[path[0]] + end[path[-1]] + sum(emissions[t, k] for t, k in enumerate(path))
        score += sum(trans[a, b] for a, b in zip(path, path[1:]))
        if score > best:
            best, best_path = score, path
    return list(best_path)


def mask_of(lengths, width):
    return (np.arange(width)[None, :] < np.asarray(lengths)[:, None]).astype("int64")


def decode(crf, emissions, mask):
    with paddle.no_grad():
        return decode_in_graph(crf, paddle.to_tensor(emissions), paddle.to_tensor(mask)).numpy()


# ----------------------------------------------------------------------------- in-graph decoding


@pytest.mark.parametrize("labels, scheme", [(IOB2, "IOB2"), (BIOES, "BIOES")])
def test_in_graph_decoding_matches_brute_force_and_the_crf(labels, scheme):
    rng = np.random.default_rng(0)
    crf, params = loud_crf(labels, scheme, rng)
    t = 5
    lengths = rng.permutation(np.repeat(np.arange(1, t + 1), 3))           # 1 .. T, mixed
    emissions = rng.normal(0, 2, [len(lengths), t, len(labels)]).astype("float32")
    mask = mask_of(lengths, t)
    emissions[mask == 0] = np.nan                                          # padding is ignored
    got = decode(crf, emissions, mask)
    assert got.dtype == np.int64 and got.shape == (len(lengths), t)
    for b, n in enumerate(lengths):
        want = best_valid_path(emissions[b, :n].astype(np.float64), labels, scheme, *params)
        assert got[b].tolist() == want + [0] * (t - n), (b, n)
    _, paths = crf.viterbi_decode(paddle.to_tensor(emissions), mask=paddle.to_tensor(mask))
    np.testing.assert_array_equal(got, paths.numpy())
    # the start and end scores decide paths here: folded the wrong way round, they would show
    swapped, _ = loud_crf(labels, scheme, np.random.default_rng(0))
    swapped.start_transitions.set_value(crf.end_transitions)
    swapped.end_transitions.set_value(crf.start_transitions)
    assert (decode(swapped, emissions, mask) != got).any(axis=1).sum() >= 3


def test_in_graph_decoding_without_constraints_matches_the_crf():
    rng = np.random.default_rng(1)
    crf = LinearChainCRF(6)
    for param in (crf.transitions, crf.start_transitions, crf.end_transitions):
        param.set_value(rng.uniform(-8, 8, param.shape).astype("float32"))
    lengths = rng.integers(1, 40, 32)
    emissions = rng.normal(0, 3, [32, 40, 6]).astype("float32")
    mask = mask_of(lengths, 40)
    _, want = crf.viterbi_decode(paddle.to_tensor(emissions), mask=paddle.to_tensor(mask))
    np.testing.assert_array_equal(decode(crf, emissions, mask), want.numpy())


def test_in_graph_decoding_of_rows_without_words_and_batches_without_steps():
    """The op needs lengths >= 1 and gives paths only max(lengths) wide: a row without words
    is all 0, a padded batch keeps its width, and a batch of width 0 gives ``[B, 0]``."""
    rng = np.random.default_rng(2)
    crf, _ = loud_crf(IOB2, "IOB2", rng)
    emissions = rng.normal(0, 2, [3, 6, 5]).astype("float32")
    mask = mask_of([0, 2, 1], 6)
    got = decode(crf, emissions, mask)
    _, want = crf.viterbi_decode(paddle.to_tensor(emissions[1:]), mask=paddle.to_tensor(mask[1:]))
    assert got.shape == (3, 6) and got[0].tolist() == [0] * 6
    np.testing.assert_array_equal(got[1:], want.numpy())
    assert decode(crf, emissions, mask_of([0, 0, 0], 6)).tolist() == [[0] * 6] * 3
    assert decode(crf, emissions[:, :0], mask[:, :0]).shape == (3, 0)


class _Decoder(paddle.nn.Layer):
    def __init__(self, crf):
        super().__init__()
        self.crf = crf

    def forward(self, emissions, word_mask):
        return decode_in_graph(self.crf, emissions, word_mask)


def test_in_graph_decoding_traces_with_dynamic_batch_and_length():
    rng = np.random.default_rng(4)
    crf, _ = loud_crf(BIOES, "BIOES", rng)
    net = paddle.jit.to_static(_Decoder(crf), full_graph=True, input_spec=[
        paddle.static.InputSpec([None, None, 5], "float32", "emissions"),
        paddle.static.InputSpec([None, None], "int64", "word_mask")])
    for lengths, width in (([7, 3, 1, 7], 7), ([1], 1), ([2, 0, 5], 9)):
        emissions = rng.normal(0, 2, [len(lengths), width, 5]).astype("float32")
        mask = mask_of(lengths, width)
        got = net(paddle.to_tensor(emissions), paddle.to_tensor(mask))
        assert got.dtype == paddle.int64
        np.testing.assert_array_equal(got.numpy(), decode(crf, emissions, mask))


# ----------------------------------------------------------------------------- the model's program


def make(tiny, head="crf", labels=IOB2, **kw):
    """A tagger whose emissions, transitions and (large) start/end scores all matter."""
    paddle.seed(0)
    rng = np.random.default_rng(5)
    encoder, _ = load_backbone(str(tiny))
    model = SeqTagger(SeqTaggerConfig(head=head, **kw), encoder, labels, scheme="IOB2")
    with paddle.no_grad():
        model.emissions.weight.set_value(model.emissions.weight * 30)
        if model.crf is not None:
            for param, scale in ((model.crf.transitions, 2.0), (model.crf.start_transitions, 4.0),
                                 (model.crf.end_transitions, 4.0)):
                param.set_value(rng.uniform(-scale, scale, param.shape).astype("float32"))
    return model


def seq_batch(windows, rng):
    """A collated batch of windows ``(word pieces, words)``, padded like ``SeqTask.collate``."""
    t, w = max(p for p, _ in windows), max(n for _, n in windows)
    ids, index = np.zeros([len(windows), t], "int64"), np.zeros([len(windows), w], "int64")
    for b, (pieces, words) in enumerate(windows):
        ids[b, :pieces] = [1] + list(rng.integers(5, 1800, pieces - 2)) + [2]
        index[b, :words] = np.sort(rng.choice(np.arange(1, pieces - 1), words, replace=False))
    return {"input_ids": ids, "attention_mask": (ids > 0).astype("int64"), "word_index": index,
            "word_mask": mask_of([n for _, n in windows], w), "labels": np.zeros_like(index),
            "_index": np.arange(len(windows))}


def forward_predictions(model, batch):
    model.eval()
    with paddle.no_grad():
        names = ("input_ids", "attention_mask", "word_index", "word_mask")
        return model(**{k: paddle.to_tensor(batch[k]) for k in names})["predictions"].numpy()


CONFIGS = {"crf": dict(head="crf"),
           "crf-unconstrained-res-attention": dict(head="crf", constrain_decoding=False,
                                                   num_res_blocks=1, use_attention=True,
                                                   attention_heads=2),
           "softmax": dict(head="softmax")}


@pytest.fixture(scope="module", params=list(CONFIGS))
def exported(request, tiny_ernie, tmp_path_factory):
    """``(model, directory, programs)``, exported once per configuration."""
    model = make(tiny_ernie, **CONFIGS[request.param])
    model.train()                                  # the export switches to eval itself
    directory = tmp_path_factory.mktemp("seq_export")
    programs, _ = export_programs(model, directory)
    return model, directory, programs


def test_the_program_takes_the_collated_inputs_and_gives_predictions(exported):
    model, directory, programs = exported
    words = [None, None]
    assert programs == {"model": {"inputs": [["input_ids", words, "int64"],
                                             ["attention_mask", words, "int64"],
                                             ["word_index", words, "int64"],
                                             ["word_mask", words, "int64"]],
                                  "outputs": ["predictions"]}}
    text = (directory / "model.json").read_text()
    ops = {node["#"] for node in _walk(json.loads(text)) if isinstance(node.get("#"), str)}
    assert ("1.viterbi_decode" in ops) == (model.crf is not None)   # pd_op.viterbi_decode


def _walk(node):
    """Every dict in a JSON tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.mark.parametrize("onednn", [False, True])
def test_exported_tags_equal_the_dynamic_predictions(exported, onednn):
    model, directory, programs = exported
    runner = InferenceRunner(directory, programs,
                             lambda inputs: config_calls(InferenceOptions(enable_mkldnn=onednn)))
    eager = EagerRunner(model)
    rng = np.random.default_rng(6)
    tags = set()
    for windows in BATCHES:
        batch = seq_batch(windows, rng)
        want = forward_predictions(model, batch)
        got = runner.run("model", batch)
        assert list(got) == ["predictions"] and got["predictions"].dtype == np.int64
        np.testing.assert_array_equal(got["predictions"], want)
        np.testing.assert_array_equal(eager.run("model", batch)["predictions"], want)
        tags |= set(want[batch["word_mask"] == 1].tolist())
    assert len(tags) >= 3                          # not one tag everywhere


def test_the_forward_decodes_with_the_op_not_the_crf_layer(tiny_ernie, monkeypatch):
    """Evaluation (the eval-mode forward) and the export layer run one decoder,
    ``decode_in_graph``: the CRF layer's own Viterbi is never asked, and the predictions are
    its paths on the forward's emissions."""
    model = make(tiny_ernie)
    batch = seq_batch(BATCHES[3], np.random.default_rng(7))
    model.eval()
    with paddle.no_grad():
        names = ("input_ids", "attention_mask", "word_index", "word_mask")
        emissions = model(**{k: paddle.to_tensor(batch[k]) for k in names})["emissions"]
        _, want = model.crf.viterbi_decode(emissions, mask=paddle.to_tensor(batch["word_mask"]))

    def unavailable(*args, **kwargs):
        raise AssertionError("LinearChainCRF.viterbi_decode was asked for")

    monkeypatch.setattr(LinearChainCRF, "viterbi_decode", unavailable)
    got = forward_predictions(model, batch)
    np.testing.assert_array_equal(got, want.numpy())
    np.testing.assert_array_equal(EagerRunner(model).run("model", batch)["predictions"], got)
    assert len(set(got[batch["word_mask"] == 1].tolist())) >= 3


def test_seq_task_predicts_the_same_records_from_the_exported_program(tiny_ernie, tmp_path):
    """``SeqTask.predict`` reads ``predictions`` by name: the exported program and the
    dynamic model give the same records, and those of the forward's predictions."""
    config = load_config(ROOT / "configs/seq/conll03_tiny.yaml",
                         [f"Model.backbone={tiny_ernie}", f"Data.root={ROOT / 'data/sample/conll2003'}",
                          "Data.max_seq_len=24"])
    task = SeqTask(config, load_backbone(str(tiny_ernie))[1])
    task.labels = task.build_labels(task.load_examples("train"))
    examples = task.load_examples("dev")[:12]
    model = make(tiny_ernie, labels=task.labels)
    programs, _ = export_programs(model, tmp_path)
    runner = InferenceRunner(tmp_path, programs,
                             lambda inputs: config_calls(InferenceOptions(enable_mkldnn=True)))
    options = {"batch_size": 4}
    collated = task.collate(task.featurize(examples[:2], "infer"))
    assert programs["model"]["inputs"] == [
        [k, [None, None], "int64"] for k in collated if k != "labels" and not k.startswith("_")]
    exported_records = task.predict(runner, examples, options)
    assert exported_records == task.predict(EagerRunner(model), examples, options)

    class Forward:                                 # what prediction ran before the export
        def run(self, program, batch):
            return {"predictions": forward_predictions(model, batch)}

    assert exported_records == task.predict(Forward(), examples, options)
    assert len({t for r in exported_records for t in r["tags"]}) >= 2
