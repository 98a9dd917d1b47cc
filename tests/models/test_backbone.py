import os
import time
from pathlib import Path

import numpy as np
import paddle
import pytest

from ernie_res.models.backbone import (BackboneLoadError, backbone_from_config, load_backbone,
                                       save_backbone_files)


def test_tiny_ernie_loads_through_the_real_path(tiny_ernie):
    for f in ("config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"):
        assert (tiny_ernie / f).is_file()
    encoder, tok = load_backbone(str(tiny_ernie))
    ids = tok("the space shuttle launch")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert tok.unk_token_id not in ids[1:-1]      # the sample's words are in the vocabulary
    encoder.eval()
    seq, pooled = encoder(paddle.to_tensor([ids]))
    assert seq.shape == [1, len(ids), 32] and pooled.shape == [1, 32]


def test_attention_mask_2d_matches_padding(tiny_ernie):
    encoder, tok = load_backbone(str(tiny_ernie))
    encoder.eval()
    ids = tok("the car engine")["input_ids"]
    a = encoder(paddle.to_tensor([ids]))[0]
    padded = paddle.to_tensor([ids + [0, 0, 0]])
    mask = paddle.to_tensor([[1] * len(ids) + [0, 0, 0]])
    b = encoder(padded, attention_mask=mask)[0][:, :len(ids)]
    assert float((a - b).abs().max()) < 1e-5


def test_rebuild_from_config_has_same_architecture(tiny_ernie, tmp_path):
    encoder, tok = load_backbone(str(tiny_ernie))
    save_backbone_files(encoder, tok, tmp_path / "bb")
    assert not any((tmp_path / "bb" / f).exists()                    # config + tokenizer only
                   for f in ("model_state.pdparams", "model.safetensors"))
    enc2, tok2 = backbone_from_config(tmp_path / "bb")
    enc2.set_state_dict(encoder.state_dict())
    assert tok2.vocab_size == tok.vocab_size
    names = [n for n, _ in encoder.named_parameters()]
    assert names == [n for n, _ in enc2.named_parameters()]


def test_offline_name_fails_fast_and_cleans_up():
    home = Path(os.environ["PPNLP_HOME"])
    t0 = time.time()
    with pytest.raises(BackboneLoadError) as e:
        load_backbone("ernie-2.0-base-en")
    assert time.time() - t0 < 30
    msg = str(e.value)
    assert "ernie-2.0-base-en" in msg and "PPNLP_HOME" in msg and str(home) in msg
    assert "local directory" in msg
    empties = [p for p in home.rglob("*") if p.is_file() and p.stat().st_size == 0]
    assert empties == []


def test_missing_directory_errors(tmp_path):
    with pytest.raises(BackboneLoadError, match="does not exist"):
        load_backbone(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackboneLoadError, match="has no config.json"):
        load_backbone(str(tmp_path / "empty"))


def _pdparams_copy(tiny_ernie, tmp_path, weights):
    """The tiny ERNIE as save_pretrained writes it by default: model_state.pdparams."""
    import pickle
    import shutil

    target = tmp_path / "bb_pdparams"
    shutil.copytree(tiny_ernie, target)
    (target / "model.safetensors").unlink()
    with open(target / "model_state.pdparams", "wb") as f:
        pickle.dump(weights, f, protocol=4)
    return target


def test_a_pdparams_backbone_loads_without_unpickling_code(tiny_ernie, tmp_path):
    encoder, _ = load_backbone(str(tiny_ernie))
    weights = {k: v.numpy() for k, v in encoder.state_dict().items()}
    again, _ = load_backbone(str(_pdparams_copy(tiny_ernie, tmp_path, weights)))
    for k, v in encoder.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[k].numpy(), v.numpy(), err_msg=k)


def test_a_planted_backbone_pickle_is_refused(tiny_ernie, tmp_path, payload):
    evil, marker = payload
    weights = {"embeddings.word_embeddings.weight": evil}
    with pytest.raises(BackboneLoadError, match=r"model_state.pdparams: refused to load this "
                                                r"pickle: it asks for"):
        load_backbone(str(_pdparams_copy(tiny_ernie, tmp_path, weights)))
    assert not marker.exists()


def test_a_backbone_pdparams_that_does_not_fit_is_named(tiny_ernie, tmp_path):
    with pytest.raises(BackboneLoadError, match=r"does not fit the ERNIE its config.json "
                                                r"describes \(missing \['embeddings"):
        load_backbone(str(_pdparams_copy(tiny_ernie, tmp_path, {})))


@pytest.mark.parametrize("drop, message", [
    ("vocab.txt", r"has no vocab.txt, the vocabulary ERNIE's tokenizer reads"),
    ("model.safetensors", r"has no weights: expected model.safetensors or "
                          r"model_state.pdparams"),
    ("config.json", r"has no config.json"),
])
def test_a_backbone_directory_missing_a_file_names_it(tiny_ernie, tmp_path, drop, message):
    import shutil

    target = tmp_path / "bb"
    shutil.copytree(tiny_ernie, target)
    (target / drop).unlink()
    with pytest.raises(BackboneLoadError, match=message):
        load_backbone(str(target))


def test_a_safetensors_backbone_is_loaded_strictly_too(tiny_ernie, tmp_path):
    """PaddleNLP's from_pretrained only warns about missing weights; a local directory must
    not start training from a partly random encoder."""
    import shutil

    from ernie_res.models.safe_state import load_tensors, save_tensors

    target = tmp_path / "bb"
    shutil.copytree(tiny_ernie, target)
    weights = load_tensors(target / "model.safetensors")
    del weights["encoder.layers.0.linear1.weight"]
    save_tensors(weights, target / "model.safetensors")
    with pytest.raises(BackboneLoadError, match=r"model.safetensors does not fit the ERNIE its "
                                                r"config.json describes \(missing "
                                                r"\['encoder.layers.0.linear1.weight'\]"):
        load_backbone(str(target))
