"""Model registry: ``Model.name`` -> model class. Each class has a ``Config`` dataclass (its
section schema) and is built as ``cls(config, encoder=..., **derived)`` where the derived
arguments (``num_labels``...) come from the data, never from the user's config. The hooks
every model declares are in ``models/base.py``."""
from ernie_res.models.doc_classifier import DocClassifier
from ernie_res.models.rel_classifier import RelClassifier
from ernie_res.models.seq_tagger import SeqTagger
from ernie_res.models.text_vae import TextVAE

MODELS = {
    "doc_classifier": DocClassifier,
    "rel_classifier": RelClassifier,
    "seq_crf": SeqTagger,
    "text_vae": TextVAE,
}


def build_model(model_cfg, **derived):
    return MODELS[model_cfg.name](model_cfg, **derived)
