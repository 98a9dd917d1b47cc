"""The text VAE's exported programs (``encoder``, ``decoder_step``) under Paddle Inference, oneDNN
on and off, against the same programs run eagerly: posterior means and step logits within
1e-5, and identical greedy, beam and seeded sampled decodes from the one loop of
models/generation.py, for the GRU and the Transformer decoder and the LM baseline. Then
``GenTask.predict``'s three modes give the same records on both runners."""
from pathlib import Path

import numpy as np
import paddle
import pytest

from ernie_res.api import load_config
from ernie_res.engine.export import export_programs
from ernie_res.engine.inference_config import InferenceOptions, config_calls
from ernie_res.engine.runners import EagerRunner, InferenceRunner
from ernie_res.models.backbone import load_backbone
from ernie_res.models.generation import StepDecoder, beam_search, sample
from ernie_res.tasks.gen import GenTask

ROOT = Path(__file__).resolve().parents[2]
#: Model overrides of each variant (Data.max_seq_len is 48: the Transformer needs 47 positions)
VARIANTS = {
    "gru": ["Model.decoder=gru", "Model.decoder_layers=2"],
    "transformer": ["Model.decoder=transformer", "Model.decoder_heads=2", "Model.max_len=47"],
    "gru_lm": ["Model.decoder=gru", "Model.decoder_layers=2", "Model.latent_size=0"],
    "transformer_lm": ["Model.decoder=transformer", "Model.decoder_heads=2", "Model.max_len=47",
                       "Model.latent_size=0"],
}


@pytest.fixture(scope="module")
def exported(tiny_ernie, tmp_path_factory):
    """``exported(variant) -> (task, model, directory, programs)``, built once per variant."""
    cache = {}

    def build(variant):
        if variant not in cache:
            config = load_config(ROOT / "configs/gen/ptb_vae_tiny.yaml", [
                f"Model.backbone={tiny_ernie}", f"Data.root={ROOT / 'data/sample/ptb'}",
                "Model.latent_size=4", "Model.decoder_hidden=16", *VARIANTS[variant]])
            encoder, tokenizer = load_backbone(str(tiny_ernie))
            task = GenTask(config, tokenizer, labels=[])
            paddle.seed(3)
            model = task.build_model(encoder)
            model.train()                  # the export puts it in eval mode (dropout off)
            directory = tmp_path_factory.mktemp(variant)
            programs, _ = export_programs(model, directory)
            cache[variant] = task, model, directory, programs
        return cache[variant]
    return build


@pytest.fixture(scope="module")
def runners(exported):
    """``runners(variant, onednn) -> (EagerRunner, InferenceRunner)`` over the same weights."""
    cache = {}

    def build(variant, onednn):
        if (variant, onednn) not in cache:
            _, model, directory, programs = exported(variant)
            options = InferenceOptions(enable_mkldnn=onednn)
            cache[variant, onednn] = (EagerRunner(model), InferenceRunner(
                directory, programs, lambda inputs: config_calls(options)))
        return cache[variant, onednn]
    return build


def sentences(task, texts):
    return task.collate([{"input_ids": task.encode_text(t)[0], "index": i}
                         for i, t in enumerate(texts)])


TEXTS = ["the company said it expects profits", "shares fell", "a b c d e f g h i j k l"]


@pytest.mark.parametrize("onednn", [False, True])
@pytest.mark.parametrize("variant", ["gru", "transformer"])
def test_encoder_means_match(exported, runners, variant, onednn):
    task, model, _, programs = exported(variant)
    assert programs["encoder"] == {"inputs": [["input_ids", [None, None], "int64"],
                                              ["attention_mask", [None, None], "int64"]],
                                   "outputs": ["mu"]}
    eager, inference = runners(variant, onednn)
    for texts in (TEXTS, TEXTS[1:2]):                          # padded, and a batch of one
        batch = sentences(task, texts)
        got, want = inference.run("encoder", batch)["mu"], eager.run("encoder", batch)["mu"]
        assert got.shape == (len(texts), 4) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
        with paddle.no_grad():
            mu, _ = model.encode(paddle.to_tensor(batch["input_ids"]),
                                 paddle.to_tensor(batch["attention_mask"]))
        np.testing.assert_allclose(want, mu.numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("onednn", [False, True])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_decoder_step_logits_match(exported, runners, variant, onednn):
    """Six steps of five rows, and of one row, from an empty state: logits and the state the
    next step reads (the GRU's hidden state, the Transformer's keys and values) within 1e-5."""
    _, model, _, programs = exported(variant)
    state_names = ["state"] if variant.startswith("gru") else ["keys", "values"]
    assert programs["decoder_step"]["outputs"] == ["logits"] + state_names
    assert ("encoder" in programs) == (not variant.endswith("_lm"))
    decoders = [StepDecoder(r, model.bos_id, model.eos_id) for r in runners(variant, onednn)]
    rng = np.random.default_rng(0)
    for rows in (5, 1):
        z = rng.standard_normal((rows, 4), dtype=np.float32) if "encoder" in programs else None
        states = [d.start(z, rows) for d in decoders]
        tokens = np.full(rows, model.bos_id)
        for _ in range(6):
            (want, eager), (got, inference) = [d.step(tokens, s) for d, s in zip(decoders,
                                                                                 states)]
            assert want.shape == (rows, model.vocab_size) and got.dtype == np.float32
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
            assert list(eager.tensors) == state_names
            for name in state_names:
                np.testing.assert_allclose(inference.tensors[name], eager.tensors[name],
                                           rtol=0, atol=1e-5)
            states = [eager, inference]
            tokens = rng.integers(5, 300, rows)


@pytest.mark.parametrize("onednn", [False, True])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_greedy_beam_and_seeded_samples_are_identical(exported, runners, variant, onednn):
    _, model, _, _ = exported(variant)
    eager, inference = runners(variant, onednn)
    latent = not variant.endswith("_lm")
    z = np.random.default_rng(1).standard_normal((4, 4), dtype=np.float32) * 2 if latent \
        else None
    decodes = {}
    for name, runner in (("eager", eager), ("inference", inference)):
        decoder = StepDecoder(runner, model.bos_id, model.eos_id)
        decodes[name] = (sample(decoder, z, 4, 12, greedy=True),
                         beam_search(decoder, z, 3, 12),
                         sample(decoder, z, 4, 12, np.random.default_rng(5), top_p=0.9))
    assert decodes["inference"] == decodes["eager"]
    greedy, beams, sampled = decodes["eager"]
    assert len(greedy) == 4 and len(beams) == (4 if latent else 1)
    assert any(len(s) > 3 for s in greedy + beams + sampled)  # real decodes, not empty ones


@pytest.mark.parametrize("variant", ["gru", "transformer"])
def test_predict_gives_the_same_records_on_both_runners(exported, runners, variant):
    task = exported(variant)[0]
    eager, inference = runners(variant, True)
    ex = [{"id": f"in:{i + 1}", "line": i + 1, "text": t} for i, t in enumerate(TEXTS)]
    for mode, opts in (("sample", {"num_samples": 3, "seed": 2, "temperature": 0.8,
                                   "sample_top_k": 20}),
                       ("reconstruct", {"decoding": "greedy", "batch_size": 2}),
                       ("interpolate", {"decoding": "beam", "beam_size": 2, "steps": 3})):
        opts = dict(opts, mode=mode, max_len=10)
        records = task.predict(eager, ex, opts)
        assert records and task.predict(inference, ex, opts) == records, mode
