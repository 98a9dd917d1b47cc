"""GenTask (tasks/gen.py) on the bundled PTB-style sample: reader, [CLS]..[SEP] framing and
cut counting, batches, the VAE metric, the Transformer length rule and the three inference
modes (with an untrained tiny model run by an ``EagerRunner``, as ``api.predict`` does),
without training. tests/models/test_gen_export.py runs the same loops on exported programs."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import paddle
import pytest

from ernie_res.api import load_config
from ernie_res.config import ConfigError
from ernie_res.engine.runners import EagerRunner
from ernie_res.metrics.vae import VAEMetric
from ernie_res.models import MODELS
from ernie_res.models.backbone import load_backbone
from ernie_res.models.generation import StepDecoder, sample
from ernie_res.models.text_vae import TextVAE
from ernie_res.tasks import TASKS
from ernie_res.tasks.gen import GenTask

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data/sample/ptb"


def cfg(tiny, *extra):
    return load_config(ROOT / "configs/gen/ptb_vae_tiny.yaml",
                       [f"Model.backbone={tiny}", f"Data.root={SAMPLE}", "Model.latent_size=4",
                        "Model.decoder_hidden=16", *extra])


@pytest.fixture(scope="module")
def task(tiny_ernie, tokenizer):
    return GenTask(cfg(tiny_ernie), tokenizer, labels=[])


@pytest.fixture(scope="module")
def model(task, tiny_ernie):
    paddle.seed(0)
    m = task.build_model(load_backbone(str(tiny_ernie))[0])
    m.eval()
    return m


@pytest.fixture(scope="module")
def runner(model):
    """What ``api.predict`` hands ``GenTask.predict`` for a model directory."""
    return EagerRunner(model)


def pieces(tok, text):
    return tok.convert_tokens_to_ids(tok.tokenize(text))


def test_registered_with_its_model_and_dataset():
    from ernie_res.data.download import DATASETS

    assert TASKS["gen"] is GenTask and GenTask.name == "gen"
    assert GenTask.model_names == ("text_vae",) and MODELS["text_vae"] is TextVAE
    assert GenTask.dataset in DATASETS and GenTask.dataset == GenTask.DataConfig(root="x").name


def test_load_examples(tiny_ernie, tokenizer, logger, tmp_path):
    task = GenTask(cfg(tiny_ernie), tokenizer, logger=logger)
    train, dev, test = (task.load_examples(s) for s in ("train", "dev", "test"))
    assert (len(train), len(dev), len(test)) == (600, 100, 100)
    assert dev[0] == {"id": "ptb.valid.txt:1", "line": 1, "text": "officials believed interest "
                      "rates was likely to recover and rates jumped on program trading"}
    assert "dev: 100 sentences from" in logger.text() and "(0 blank lines skipped)" in \
        logger.text()
    few = GenTask(cfg(tiny_ernie, "Data.max_examples=3"), tokenizer).load_examples("test")
    assert few == test[:3]
    (tmp_path / "ptb.train.txt").write_text(" a b \n\n   \n c \n", encoding="utf-8")
    logger.lines.clear()
    mine = GenTask(cfg(tiny_ernie, f"Data.root={tmp_path}"), tokenizer, logger=logger)
    assert [e["text"] for e in mine.load_examples("train")] == ["a b", "c"]
    assert "(2 blank lines skipped)" in logger.text()
    with pytest.raises(FileNotFoundError, match=r"ptb\.valid\.txt not found: the gen task "
                                                r"expects ptb\.train\.txt, ptb\.valid\.txt, "
                                                r"ptb\.test\.txt in Data\.root; `python "
                                                r"tools/download_data\.py ptb --dest DIR`"):
        mine.load_examples("dev")


def test_build_labels_is_empty(task):
    assert task.build_labels(task.load_examples("dev")) == []


def test_featurize_frames_and_counts_cuts(tiny_ernie, tokenizer, logger):
    task = GenTask(cfg(tiny_ernie, "Data.max_seq_len=10"), tokenizer, logger=logger)
    ex = task.load_examples("dev")[:20]
    logger.lines.clear()
    feats = task.featurize(ex, "dev")
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    cut = 0
    for i, (f, e) in enumerate(zip(feats, ex)):
        ids = pieces(tokenizer, e["text"])
        assert f["index"] == i and f["input_ids"][0] == cls and f["input_ids"][-1] == sep
        assert f["input_ids"][1:-1] == ids[:8]                          # the start is kept
        assert len(f["input_ids"]) == min(len(ids), 8) + 2
        cut += len(ids) > 8
        assert task.encode_text(e["text"]) == (f["input_ids"], len(ids) > 8)
    assert 0 < cut < 20
    assert logger.lines == [f"dev: {cut}/20 sentences longer than 8 word pieces were cut to "
                            f"fit"]
    logger.lines.clear()
    task.featurize([{"text": "a b"}], "dev")
    assert logger.lines == []                                           # nothing cut


def test_collate_has_no_labels(task, tokenizer):
    feats = task.featurize(task.load_examples("dev")[:3], "dev")
    batch = task.collate(feats)
    assert set(batch) == {"input_ids", "attention_mask", "_index"}
    assert all(v.dtype == np.int64 for v in batch.values())
    lens = [len(f["input_ids"]) for f in feats]
    assert batch["input_ids"].shape == (3, max(lens))
    for r, f in enumerate(feats):
        assert batch["input_ids"][r, :lens[r]].tolist() == f["input_ids"]
        assert (batch["input_ids"][r, lens[r]:] == tokenizer.pad_token_id).all()
        assert batch["attention_mask"][r].tolist() == [1] * lens[r] + [0] * (max(lens) - lens[r])
    assert batch["_index"].tolist() == [0, 1, 2]


def test_build_model_is_the_registered_head(model, tokenizer):
    assert type(model) is MODELS["text_vae"]
    assert model.vocab_size == len(tokenizer) == model.out.weight.shape[1]
    assert (model.pad_id, model.bos_id, model.eos_id) == (tokenizer.pad_token_id,
                                                          tokenizer.cls_token_id,
                                                          tokenizer.sep_token_id)
    assert model.word_drop.unk_id == tokenizer.unk_token_id


def test_metric_from_hand_made_outputs(task):
    metric = task.build_metric()
    assert isinstance(metric, VAEMetric) and metric.seed == task.config.Global.seed
    mu = np.zeros((2, 4))
    out = {"rec": np.array([10.0, 20.0]), "kl": np.array([1.0, 3.0]),
           "num_tokens": np.array([4.0, 6.0]), "mu": mu, "logvar": mu}
    task.update_metric(metric, out, {})
    m = metric.accumulate()
    assert (m["rec"], m["kl"], m["elbo"], m["nll"]) == (15.0, 2.0, -17.0, 17.0)
    assert m["ppl"] == pytest.approx(np.exp(34.0 / 10.0)) and m["neg_nll"] == -17.0
    assert m["au"] == 0.0
    metric = task.build_metric()                      # the importance-weighted NLL wins
    task.update_metric(metric, dict(out, iw_nll=np.array([9.0, 19.0])), {})
    assert metric.accumulate()["nll"] == 14.0 and metric.accumulate()["elbo"] == -17.0


def test_check_config_transformer_positions(tiny_ernie):
    base = ["Model.decoder=transformer", "Model.decoder_heads=2", "Data.max_seq_len=48"]
    cfg(tiny_ernie, *base, "Model.max_len=47")                          # [CLS] w_1 .. w_46
    with pytest.raises(ConfigError, match=r"Model\.max_len: expected at least Data\.max_seq_len "
                                          r"- 1 = 47 \(the decoder's longest input\), got 46"):
        cfg(tiny_ernie, *base, "Model.max_len=46")
    c = cfg(tiny_ernie, "Model.decoder=gru", "Model.max_len=4")          # a GRU has no limit
    assert GenTask.check_config(c) is None


def test_read_infer_inputs(task, tmp_path):
    txt = tmp_path / "in.txt"
    txt.write_text("the company said\n\n  shares fell  \n", encoding="utf-8")
    examples, errors = task.read_infer_inputs(txt)
    assert errors == [] and [(e["id"], e.get("text")) for e in examples] == [
        ("in.txt:1", "the company said"), ("in.txt:2", None), ("in.txt:3", "shares fell")]
    assert examples[1] == {"id": "in.txt:2", "line": 2, "blank": True}
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "a b"}\n{"txt": "c"}\n', encoding="utf-8")
    # a bad line is an error entry, as in every task; the rest is read
    examples, errors = task.read_infer_inputs(jsonl)
    assert [e["text"] for e in examples] == ["a b"]
    assert errors == [{"id": "in.jsonl:2", "line": 2,
                       "error": f"{jsonl}:2: expected a 'text' field, got fields ['txt']"}]


def test_output_and_answer_text(task):
    rows = [{"id": "sample:1", "text": "a b"}]
    assert task.output_text(rows) == '{"id": "sample:1", "text": "a b"}\n'
    assert [json.loads(x) for x in task.output_text(rows).splitlines()] == rows
    with pytest.raises(ValueError, match="task 'gen' has no official answer format"):
        task.answer_text([], task.build_metric())


def test_predict_sample(task, runner, tokenizer):
    recs = task.predict(runner, [], {"mode": "sample", "num_samples": 3, "max_len": 5,
                                    "seed": 1})
    assert [r["id"] for r in recs] == ["sample:1", "sample:2", "sample:3"]
    assert all(set(r) == {"id", "text"} and len(tokenizer.tokenize(r["text"])) <= 5
               for r in recs)
    again = task.predict(runner, [], {"num_samples": 3, "max_len": 5, "seed": 1})   # default mode
    assert again == recs                                                 # seeded
    assert len(task.predict(runner, [], {"max_len": 2})) == 10            # 10 samples by default


def test_predict_reconstruct_and_interpolate(task, model, runner):
    ex = [{"id": "in:1", "text": "the company said it expects profits"},
          {"id": "in:2", "text": "shares fell in new york"}]
    greedy = {"decoding": "greedy", "max_len": 6}
    recs = task.predict(runner, ex, {"mode": "reconstruct", **greedy})
    assert [(r["id"], r["input"]) for r in recs] == [(e["id"], e["text"]) for e in ex]
    batch = task.collate([{"input_ids": task.encode_text(e["text"])[0], "index": i}
                          for i, e in enumerate(ex)])
    with paddle.no_grad():
        mu, _ = model.encode(paddle.to_tensor(batch["input_ids"]),
                             paddle.to_tensor(batch["attention_mask"]))
    decoder = StepDecoder(runner, model.bos_id, model.eos_id)
    assert [r["text"] for r in recs] == [task.detok(s) for s in                  # from the mean
                                         sample(decoder, mu.numpy(), 2, 6, greedy=True)]
    inter = task.predict(runner, ex, {"mode": "interpolate", "steps": 3, **greedy})
    assert [r["alpha"] for r in inter] == [0.0, 0.5, 1.0]
    assert [r["id"] for r in inter] == ["in:1->in:2:0", "in:1->in:2:1", "in:1->in:2:2"]
    assert [inter[0]["text"], inter[2]["text"]] == [r["text"] for r in recs]   # the end points
    three = task.predict(runner, ex + [dict(ex[0], id="in:3")],
                         {"mode": "interpolate", "steps": 2, **greedy})
    assert [r["id"] for r in three] == ["in:1->in:2:0", "in:1->in:2:1", "in:2->in:3:0",
                                        "in:2->in:3:1"]


class UnusedRunner:
    """A runner for calls that must fail before running anything."""

    def inputs(self, program):
        raise AssertionError(f"inputs({program!r}) called")

    def run(self, program, batch):
        raise AssertionError(f"run({program!r}) called")


def fake_model(latent_size=4):
    return SimpleNamespace(config=SimpleNamespace(latent_size=latent_size), eval=lambda: None)


def test_predict_refuses_bad_options(task, runner, tiny_ernie, tokenizer):
    ex = [{"id": "a", "text": "a b"}]
    with pytest.raises(ValueError, match=r"GEN: --mode must be one of \['sample', "
                                         r"'reconstruct', 'interpolate'\], got 'dream'"):
        task.predict(runner, ex, {"mode": "dream"})
    with pytest.raises(ValueError, match="GEN: --mode reconstruct needs --input sentences"):
        task.predict(runner, [], {"mode": "reconstruct"})
    with pytest.raises(ValueError, match="GEN: --mode interpolate needs at least two input"):
        task.predict(runner, ex, {"mode": "interpolate", "max_len": 3})
    lm = GenTask(cfg(tiny_ernie, "Model.latent_size=0"), tokenizer, labels=[])
    with pytest.raises(ValueError, match="GEN: --mode reconstruct needs a latent space; this "
                                         "is the LM baseline"):
        lm.predict(UnusedRunner(), ex, {"mode": "reconstruct"})
    short = GenTask(cfg(tiny_ernie, "Model.decoder=transformer", "Model.decoder_heads=2",
                        "Model.max_len=10", "Data.max_seq_len=11"), tokenizer, labels=[])
    with pytest.raises(ValueError, match=r"GEN: --max_len: expected at most the decoder's "
                                         r"Model\.max_len = 10, got 11"):
        short.predict(UnusedRunner(), [], {"max_len": 11})


def test_decode_len_respects_the_transformer_positions(task):
    def model_config(decoder, max_len):
        return SimpleNamespace(decoder=decoder, max_len=max_len)

    assert task._decode_len(model_config("gru", 4)) == 48
    assert task._decode_len(model_config("transformer", 40)) == 40
    assert task._decode_len(model_config("transformer", 100)) == 48


def test_log_eval_visuals(task, model, vdl):
    metric = task.build_metric()
    task.log_eval_visuals(vdl, metric, 1, model)                         # nothing evaluated
    assert vdl.calls == []
    rng = np.random.RandomState(0)
    task.update_metric(metric, {"rec": np.ones(6), "kl": np.ones(6), "num_tokens": np.ones(6),
                                "mu": rng.randn(6, 4), "logvar": np.zeros((6, 4))}, {})
    task.log_eval_visuals(vdl, metric, 2, fake_model(latent_size=0))    # the LM: no latent
    assert vdl.calls == []
    model.eval()
    texts = []
    vdl.text = lambda tag, text, step: texts.append((tag, text, step))
    try:
        task.log_eval_visuals(vdl, metric, 3, model)
        assert [c[:2] for c in vdl.calls] == [("histogram", "eval/kl_per_dim"),
                                              ("embeddings", "eval/posterior_means_step3")]
        assert model.training                            # handed back to the training loop
        paddle.seed(7)
        before = paddle.randn([3]).numpy()
        paddle.seed(7)
        task.log_eval_visuals(vdl, metric, 3, model)     # drawn from Global.seed and the step
        task.log_eval_visuals(vdl, metric, 4, model)
        np.testing.assert_array_equal(paddle.randn([3]).numpy(), before)  # Paddle's RNG kept
    finally:
        model.eval()
    assert [t[0] for t in texts] == ["eval/samples"] * 3 and texts[0][1].startswith("1. ")
    assert texts[0][1].count("\n\n") == 4 and texts[1] == texts[0] and texts[2][2] == 4


# ------------------------------------------------------------------------------ batched inference
# Reconstructing 12k lines took more than 9.2 GB because every sentence was encoded and decoded
# at once (issue #10). A runner that counts the rows of every program call checks that a few
# hundred lines with batch_size 32 never reach the model more than 32 at a time, and greedy
# results must not depend on the batch size.
WORDS = ("the company said it expects profits shares fell in new york and the market rose "
         "after a report on prices").split()


class CountingRunner:
    """An ``EagerRunner`` that records the rows of every program call."""

    def __init__(self, runner):
        self.runner = runner
        self.rows = {"encoder": [], "decoder_step": []}

    def inputs(self, program):
        return self.runner.inputs(program)

    def run(self, program, batch):
        out = self.runner.run(program, batch)
        self.rows[program].append(len(out["mu" if program == "encoder" else "logits"]))
        return out


@pytest.fixture
def spy(runner):
    return CountingRunner(runner)


def sentences(n):
    return [{"id": f"in:{i + 1}", "line": i + 1,
             "text": " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(3 + i % 9))}
            for i in range(n)]


GREEDY = {"decoding": "greedy", "max_len": 3}


def test_reconstruct_encodes_and_decodes_in_batches(task, spy):
    ex = sentences(300)
    recs = task.predict(spy, ex, {"mode": "reconstruct", "batch_size": 32, **GREEDY})
    assert [r["id"] for r in recs] == [e["id"] for e in ex]
    assert sum(spy.rows["encoder"]) == 300 and max(spy.rows["encoder"]) == 32
    assert max(spy.rows["decoder_step"]) == 32
    spy.rows["encoder"].clear()
    again = task.predict(spy, ex[:40], {"mode": "reconstruct", "batch_size": 1000, **GREEDY})
    assert spy.rows["encoder"] == [40]                            # one batch when it fits
    assert [r["text"] for r in again] == [r["text"] for r in recs[:40]]


def test_reconstruct_defaults_to_the_eval_batch_size(task, spy):
    task.predict(spy, sentences(120), {"mode": "reconstruct", **GREEDY})
    assert max(spy.rows["encoder"]) == task.config.Train.eval_batch_size == 50
    assert max(spy.rows["decoder_step"]) == 50


def test_beam_search_decodes_batch_size_rows_at_a_time(task, spy):
    beam = {"mode": "reconstruct", "decoding": "beam", "beam_size": 3, "max_len": 4}
    recs = task.predict(spy, sentences(7), {"batch_size": 9, **beam})
    assert len(recs) == 7 and max(spy.rows["decoder_step"]) == 9     # 3 sentences x 3 beams
    spy.rows["decoder_step"].clear()
    one = task.predict(spy, sentences(7), {"batch_size": 2, **beam})
    assert max(spy.rows["decoder_step"]) == 3            # one sentence at a time, at least
    assert one == recs


def test_interpolate_encodes_in_batches_and_decodes_long_lines_in_batches(task, spy):
    ex = sentences(40)
    recs = task.predict(spy, ex, {"mode": "interpolate", "steps": 20, "batch_size": 8,
                                  **GREEDY})
    assert len(recs) == 39 * 20
    assert sum(spy.rows["encoder"]) == 40 and max(spy.rows["encoder"]) == 8
    assert max(spy.rows["decoder_step"]) == 8


def test_sample_decodes_in_batches(task, spy):
    recs = task.predict(spy, [], {"mode": "sample", "num_samples": 50, "batch_size": 16,
                                  "max_len": 3, "seed": 3})
    assert [r["id"] for r in recs] == [f"sample:{i}" for i in range(1, 51)]
    assert max(spy.rows["decoder_step"]) == 16 and spy.rows["encoder"] == []
    few = task.predict(spy, [], {"mode": "sample", "num_samples": 5, "max_len": 3, "seed": 3})
    same = task.predict(spy, [], {"mode": "sample", "num_samples": 5, "max_len": 3, "seed": 3,
                                  "batch_size": 5})
    assert few == same                             # a run that fits one batch is unchanged
    assert task.predict(spy, [], {"mode": "sample", "num_samples": 5, "max_len": 3,
                                  "seed": 4}) != few
