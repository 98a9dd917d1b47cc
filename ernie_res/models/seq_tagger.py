"""Sequence labeller: ERNIE -> (residual block) -> (self-attention) -> emissions -> CRF.

ERNIE sees every word piece of the window (context sentences included); the emission layer
scores only the first word piece of each labelled word (``word_index``), so the CRF runs over
words, not word pieces (Devlin et al. 2019 label the first sub-token the same way). The head
is our own ``LinearChainCRF`` or, for the ablation, a per-word softmax.

Predictions come from one decoder everywhere (``SeqTagger.decode``): Paddle's
``viterbi_decode`` op (``decode_in_graph``, the CRF head) or an argmax (softmax head). The
dynamic forward (evaluation during training, ``tools/eval.py``) and the exported program
(``export_programs``, traced to a static graph) therefore give the same ``predictions``.
"""
from dataclasses import dataclass

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ernie_res.config import option
from ernie_res.layers.crf import LinearChainCRF, allowed_transitions
from ernie_res.layers.residual import ResidualStack
from ernie_res.models.base import ExportSpec, ModelConfig, TaskModel


@dataclass
class SeqTaggerConfig(ModelConfig):
    name: str = option("seq_crf", "Model registry name.")
    head: str = option("crf", "crf (our LinearChainCRF) or softmax (per-word cross entropy, the "
                              "ablation).", ("crf", "softmax"))
    num_res_blocks: int = option(0, "Residual conv blocks over the word-piece states (0 "
                                    "disables them).", ge=0)
    use_attention: bool = option(False, "A residual multi-head self-attention layer before the "
                                        "emissions.")
    attention_heads: int = option(4, "Heads of that layer (must divide the hidden size).", ge=1)
    dropout: float = option(0.1, "Dropout before the emissions.", ge=0, lt=1)
    constrain_decoding: bool = option(True, "Forbid invalid transitions (O -> I-X, B-X -> I-Y) "
                                            "in Viterbi decoding.", runtime=True)
    constrain_training: bool = option(False, "Apply the same constraints in the training "
                                             "partition function.")


class SeqTagger(TaskModel):
    Config = SeqTaggerConfig

    def __init__(self, config, encoder, labels, scheme="IOB2"):
        super().__init__()
        self.config = config
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.residual = ResidualStack(config.num_res_blocks, hidden, dropout=config.dropout)
        if config.use_attention:
            if hidden % config.attention_heads:
                raise ValueError(f"SeqTagger: hidden size {hidden} is not divisible by "
                                 f"attention_heads={config.attention_heads}")
            self.attention = nn.MultiHeadAttention(hidden, config.attention_heads,
                                                   dropout=config.dropout)
            self.attention_norm = nn.LayerNorm(hidden)
        else:
            self.attention = None
        self.dropout = nn.Dropout(config.dropout)
        self.emissions = nn.Linear(hidden, len(labels))
        if config.head == "crf":
            constraints = (allowed_transitions(labels, scheme)
                           if config.constrain_decoding or config.constrain_training else None)
            self.crf = LinearChainCRF(len(labels), constraints=constraints,
                                      constrain_training=config.constrain_training)
        else:
            self.crf = None

    def word_emissions(self, input_ids, attention_mask, word_index):
        """Emission scores of the labelled words.

        Args:
            input_ids (Tensor): int64 ``[B, T]`` word pieces of each window.
            attention_mask (Tensor): int64 ``[B, T]``, 1 for real pieces.
            word_index (Tensor): int64 ``[B, W]``, the position of each labelled word's first
                piece (0 at padded word slots).

        Returns:
            Tensor: float32 ``[B, W, L]``.
        """
        states = self.encoder(input_ids, attention_mask=attention_mask)[0]   # shape: [B, T, H]
        states = self.residual(states, attention_mask)                       # shape: [B, T, H]
        if self.attention is not None:
            keep = attention_mask.astype("bool").unsqueeze([1, 2])           # shape: [B,1,1,T]
            attended = self.attention(states, states, states, attn_mask=keep)
            states = self.attention_norm(states + self.dropout(attended))    # shape: [B, T, H]
        words = paddle.take_along_axis(states, word_index.unsqueeze(-1), axis=1,
                                       broadcast=True)                       # shape: [B, W, H]
        return self.emissions(self.dropout(words)).astype("float32")        # shape: [B, W, L]

    def forward(self, input_ids, attention_mask, word_index, word_mask, labels=None):
        """Tag words.

        Args:
            input_ids, attention_mask (Tensor): int64 ``[B, T]``.
            word_index (Tensor): int64 ``[B, W]`` first-piece positions of the labelled words.
            word_mask (Tensor): int64 ``[B, W]``, 1 for real words (a prefix of ones).
            labels (Tensor, optional): int64 ``[B, W]`` tag ids (any value at padded slots).

        Returns:
            dict: ``emissions`` float32 ``[B, W, L]``; ``predictions`` int64 ``[B, W]``
            (``decode``: Viterbi or argmax, 0 at padded slots) when not training; ``loss``
            when labels are given (mean CRF negative log-likelihood per sentence, or mean
            token cross entropy for the softmax head).
        """
        emissions = self.word_emissions(input_ids, attention_mask, word_index)
        out = {"emissions": emissions}
        mask = word_mask.astype("bool")
        if labels is not None:
            if self.crf is not None:
                out["loss"] = self.crf.nll(emissions, labels, mask=mask, reduction="mean")
            else:
                flat = F.cross_entropy(emissions, labels.unsqueeze(-1), reduction="none")
                flat = flat.squeeze(-1) * mask.astype("float32")              # shape: [B, W]
                out["loss"] = flat.sum() / mask.astype("float32").sum().clip(min=1.0)
        if not self.training:
            with paddle.no_grad(), paddle.amp.auto_cast(enable=False):
                out["predictions"] = self.decode(emissions, word_mask)
        return out

    def decode(self, emissions, word_mask):
        """Word tag ids from the emissions: Viterbi (``decode_in_graph``) for the CRF head,
        argmax for the softmax head. Converts to a static graph.

        Args:
            emissions (Tensor): float32 ``[B, W, L]``.
            word_mask (Tensor): int ``[B, W]``, 1 for real words (a prefix of ones).

        Returns:
            Tensor: int64 ``[B, W]``, 0 at padded slots.
        """
        if self.crf is None:
            return emissions.argmax(-1) * word_mask.astype("int64")          # shape: [B, W]
        return decode_in_graph(self.crf, emissions, word_mask)               # shape: [B, W]

    def export_programs(self):
        """``"model"``: ``predictions``, int64 ``[B, W]`` word tag ids (0 at padded slots), as
        ``forward`` gives them (``decode``), from the four inputs ``SeqTask.collate`` makes."""
        words = [None, None]
        return {"model": ExportSpec(layer=_Predictions(self),
                                    inputs=(("input_ids", words, "int64"),
                                            ("attention_mask", words, "int64"),
                                            ("word_index", words, "int64"),
                                            ("word_mask", words, "int64")),
                                    outputs=("predictions",))}


def decode_in_graph(crf, emissions, word_mask):
    """``crf.viterbi_decode``'s paths, by ``paddle.text.viterbi_decode``, which (unlike it)
    converts to a static graph.

    Args:
        crf (LinearChainCRF): its scores arrive folded by ``crf.bos_eos_transitions()``.
        emissions (Tensor): float32 ``[B, W, L]``.
        word_mask (Tensor): int ``[B, W]``, 1 for real words (a prefix of ones; a row may have
            none).

    Returns:
        Tensor: int64 ``[B, W]``, 0 at padded slots and in rows without words.
    """
    mask = word_mask.astype("bool")                                          # shape: [B, W]
    emissions = paddle.masked_fill(emissions, ~mask.unsqueeze(2), 0.0)       # shape: [B, W, L]
    lengths = word_mask.astype("int64").sum(axis=1)                          # shape: [B]
    lengths = paddle.maximum(lengths, paddle.ones_like(lengths))             # shape: [B], op: >= 1
    # Potentials: two columns for the op's EOS and BOS tags, then a blank step and a blank row
    # that spans every step. So the op's paths, max(lengths) wide, are always W + 1 wide, and
    # a batch without words (W = 0) still has a step to decode.
    extra = paddle.zeros_like(emissions[:, :, :1])                          # shape: [B, W, 1]
    potentials = paddle.concat([emissions, extra, extra], axis=2)           # shape: [B, W, L + 2]
    blank_step = paddle.zeros_like(lengths, dtype=emissions.dtype).reshape([-1, 1, 1])
    blank_step = blank_step.tile([1, 1, crf.num_labels + 2])                 # shape: [B, 1, L + 2]
    potentials = paddle.concat([potentials, blank_step], axis=1)             # shape: [B, W + 1, L + 2]
    potentials = paddle.concat([potentials, paddle.zeros_like(potentials[:1])])  # shape: [B + 1, W + 1, L + 2]
    size = paddle.shape(potentials)[:2].astype("int64")                      # shape: [2], (B + 1, W + 1)
    lengths = paddle.concat([lengths, size[1:]])                             # shape: [B + 1]
    _, paths = paddle.text.viterbi_decode(potentials, crf.bos_eos_transitions(), lengths,
                                          include_bos_eos_tag=True)
    # Paddle 3.3's static graph declares the op's paths float32 of shape [0] (its InferMeta
    # leaves them unset); they are int64 [B + 1, W + 1], so say so before using them.
    paths = paths.astype("int64").reshape(size)                              # shape: [B + 1, W + 1]
    return paths[:-1, :-1] * mask.astype("int64")                            # shape: [B, W]


class _Predictions(nn.Layer):
    """``SeqTagger`` reduced to its ``predictions``, for the static graph."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, word_index, word_mask):
        emissions = self.model.word_emissions(input_ids, attention_mask, word_index)
        return self.model.decode(emissions, word_mask)                       # shape: [B, W]
