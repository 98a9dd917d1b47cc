"""The ERNIE backbone, loaded through PaddleNLP by name or from a local directory.

``load_backbone("ernie-2.0-base-en")`` downloads Baidu's released checkpoint through
PaddleNLP (into ``$PPNLP_HOME``, default ``~/.paddlenlp``); ``load_backbone("/path/dir")``
loads a directory written by ``save_pretrained`` (``config.json``, ``model.safetensors`` or
``model_state.pdparams``, ``vocab.txt`` and the tokenizer files), which is what
``tools/make_tiny_ernie.py`` writes.

Trust: a named checkpoint is Baidu's, fetched by PaddleNLP over https, and PaddleNLP loads
it as it always does (its ``.pdparams`` are pickles). A local directory may have come from
anyone, so nothing in it is unpickled: ``model.safetensors`` cannot carry code, and a
``model_state.pdparams`` is read by an unpickler that admits NumPy arrays only
(``safe_state.py``); a planted payload is refused. Either way every weight must fit the
architecture of ``config.json``.

PaddleNLP has no offline switch: a name that cannot be downloaded fails inside its download
code and leaves empty lock files and folders under ``$PPNLP_HOME``. We turn that into a
``BackboneLoadError`` that names the checkpoint, ``PPNLP_HOME`` and the local-directory
alternative, and we remove the empty files the failed attempt left behind.

``backbone_from_config`` rebuilds the architecture from a saved ``config.json`` without any
weights or network access; a trained checkpoint directory restores all weights afterwards.
"""
import os
from pathlib import Path

from ernie_res.models.safe_state import UnsafeFileError, load_legacy_weights, load_tensors


class BackboneLoadError(OSError):
    """The backbone could not be loaded (offline, unknown name, or a broken directory)."""


ENGLISH_BACKBONES = ("ernie-2.0-base-en", "ernie-2.0-large-en", "ernie-3.0-tiny-mini-v2-en")


def _quiet_paddlenlp():
    from paddlenlp.utils.log import logger

    logger.set_level("WARNING")


def _ppnlp_home():
    from paddlenlp.utils.env import PPNLP_HOME

    return Path(os.environ.get("PPNLP_HOME", PPNLP_HOME))


def _snapshot(root):
    if not root.exists():
        return set()
    return {p for p in root.rglob("*")}


def _remove_new_empty(root, before):
    """Delete files of size 0 and then empty folders created since ``before``."""
    new = sorted(_snapshot(root) - before, key=lambda p: len(p.parts), reverse=True)
    for p in new:
        try:
            if p.is_file() and p.stat().st_size == 0:
                p.unlink()
        except OSError:
            pass
    for p in new:
        try:
            if p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        except OSError:
            pass


def load_backbone(name_or_dir):
    """Load a pretrained ERNIE encoder and its tokenizer.

    Args:
        name_or_dir (str): a PaddleNLP checkpoint name such as ``ernie-2.0-base-en`` or
            ``ernie-3.0-medium-zh``, or a local directory written by ``save_pretrained``.

    Returns:
        tuple: ``(encoder, tokenizer)``; ``encoder(input_ids, token_type_ids=None,
        attention_mask=None)`` returns ``(sequence_output [B, T, H], pooled [B, H])``.

    Raises:
        BackboneLoadError: the name could not be downloaded or the directory is incomplete.
    """
    from paddlenlp.transformers import AutoModel, AutoTokenizer

    _quiet_paddlenlp()
    path = Path(name_or_dir).expanduser()
    if path.is_dir():
        _check_backbone_dir(path)
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path))
        except Exception as e:  # PaddleNLP raises many types here
            raise BackboneLoadError(f"could not load the tokenizer from {path}: {e}") from e
        return _load_local_encoder(path), tokenizer
    if os.sep in str(name_or_dir) or str(name_or_dir).startswith("."):
        raise BackboneLoadError(f"backbone directory {name_or_dir} does not exist")
    home = _ppnlp_home()
    before = _snapshot(home)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_dir)
        encoder = AutoModel.from_pretrained(name_or_dir)
    except Exception as e:
        _remove_new_empty(home, before)
        raise BackboneLoadError(
            f"could not load the backbone {name_or_dir!r} by name: {type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}\n"
            f"PaddleNLP downloads named checkpoints from Baidu's servers into "
            f"PPNLP_HOME={home}; this needs network access (and a valid name such as "
            f"{', '.join(ENGLISH_BACKBONES)} or ernie-3.0-medium-zh).\n"
            f"Offline, point Model.backbone at a local directory that holds config.json, "
            f"model_state.pdparams and vocab.txt (save_pretrained output, e.g. one made on a "
            f"connected machine, or `python tools/make_tiny_ernie.py --output DIR` for tests)."
        ) from None
    return encoder, tokenizer


WEIGHT_FILES = ("model.safetensors", "model_state.pdparams")


def _check_backbone_dir(path):
    """Name the file a backbone directory lacks, before PaddleNLP fails less clearly."""
    if not (path / "config.json").is_file():
        raise BackboneLoadError(f"backbone directory {path} has no config.json; expected a "
                                f"directory written by save_pretrained (config.json, "
                                f"model.safetensors or model_state.pdparams, vocab.txt)")
    if not (path / "vocab.txt").is_file():
        raise BackboneLoadError(f"backbone directory {path} has no vocab.txt, the vocabulary "
                                f"ERNIE's tokenizer reads (tokenizer.save_pretrained writes it)")
    if not any((path / f).is_file() for f in WEIGHT_FILES):
        raise BackboneLoadError(f"backbone directory {path} has no weights: expected "
                                f"{' or '.join(WEIGHT_FILES)}")


def _load_local_encoder(path):
    """The encoder of a local directory: built from ``config.json``, then every weight set
    strictly, without unpickling anything.

    ``model.safetensors`` cannot carry code; ``model_state.pdparams`` (a pickle, the default
    of ``save_pretrained``) is read with the restricted unpickler of
    ``safe_state.load_legacy_weights``, which admits NumPy arrays only. PaddleNLP's own
    ``from_pretrained`` is not used here: it only warns about missing weights.
    """
    from paddlenlp.transformers import AutoConfig, AutoModel

    weight_file = next(path / f for f in WEIGHT_FILES if (path / f).is_file())
    try:
        weights = load_tensors(weight_file) if weight_file.suffix == ".safetensors" \
            else load_legacy_weights(weight_file)
    except UnsafeFileError as err:
        raise BackboneLoadError(str(err)) from None
    encoder = AutoModel.from_config(AutoConfig.from_pretrained(str(path)))
    prefix = f"{encoder.base_model_prefix}."
    if weights and all(k.startswith(prefix) for k in weights):  # saved from a task model
        weights = {k[len(prefix):]: v for k, v in weights.items()}
    expected = encoder.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    shapes = sorted(k for k in set(expected) & set(weights)
                    if list(weights[k].shape) != list(expected[k].shape))
    if missing or unexpected or shapes:
        raise BackboneLoadError(f"{weight_file} does not fit the ERNIE its config.json "
                                f"describes (missing {missing[:5]}, unexpected "
                                f"{unexpected[:5]}, mis-shaped {shapes[:5]})")
    encoder.set_state_dict(weights)
    return encoder


def backbone_from_config(directory):
    """Rebuild the encoder architecture from ``directory/config.json`` (random weights).

    Used when loading a trained ernie_res checkpoint, whose own state dict holds every
    weight, so nothing is downloaded.
    """
    from paddlenlp.transformers import AutoConfig, AutoModel, AutoTokenizer

    _quiet_paddlenlp()
    config = AutoConfig.from_pretrained(str(directory))
    return AutoModel.from_config(config), AutoTokenizer.from_pretrained(str(directory))


def save_backbone_files(encoder, tokenizer, directory):
    """Write the encoder's ``config.json`` and the tokenizer files (no weights)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    encoder.config.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))


def add_marker_tokens(encoder, tokenizer, markers):
    """Make ``markers`` special tokens of ``tokenizer`` with embedding rows in ``encoder``.

    Idempotent: a checkpoint's saved tokenizer already has the markers and its
    ``config.json`` the enlarged vocabulary, so nothing changes when it is reloaded. New
    embedding rows start at the mean of the existing rows.

    Returns:
        tuple: ``(ids, note)``: the markers' token ids and a one-line description of what
        changed (None when nothing did).

    Raises:
        ValueError: the tokenizer splits a marker or maps two markers to one id.
    """
    import paddle

    vocab = tokenizer.get_vocab()
    missing = [m for m in markers if m not in vocab]
    if missing:
        extra = list(getattr(tokenizer, "additional_special_tokens", []) or [])
        tokenizer.add_special_tokens({"additional_special_tokens": extra + missing})
    ids = tokenizer.convert_tokens_to_ids(list(markers))
    pieces = [tokenizer.tokenize(f"x {m} y") for m in markers]
    if any(m not in p or tokenizer.tokenize(m) != [m] for p, m in zip(pieces, markers)) \
            or len(set(ids)) != len(ids):
        raise ValueError(f"the tokenizer does not keep the markers {tuple(markers)} whole "
                         f"(got {pieces}, ids {ids})")
    emb = encoder.get_input_embeddings()
    old_n = int(emb.weight.shape[0])
    need = max(max(ids) + 1, len(tokenizer))
    if need > old_n:
        encoder.resize_token_embeddings(need)
        emb = encoder.get_input_embeddings()
    fresh = sorted({i for i, m in zip(ids, markers) if m in missing or i >= old_n})
    if not fresh:
        return ids, None
    with paddle.no_grad():
        mean = emb.weight[:old_n].mean(axis=0)                               # shape: [H]
        for i in fresh:
            emb.weight[i] = mean
    return ids, (f"entity markers {' '.join(markers)} -> token ids {ids}; embeddings {old_n} "
                 f"-> {int(emb.weight.shape[0])} rows, new rows = mean of the old")
