"""Relation classifier: ERNIE -> [CLS] + entity vectors -> entity-aware attention -> residual
MLP -> 19-way softmax.

The input sentence carries entity markers, ``[E1] e1 [/E1] ... [E2] e2 [/E2]`` (added to the
tokenizer as special tokens, see ``ernie_res.tasks.rel``). The head follows the "entity
markers" encoders of Baldini Soares et al. 2019 ("Matching the Blanks", ENTITY START pooling)
and R-BERT (Wu & He 2019, mean over the entity tokens, concatenated with ``[CLS]``), with the
entity-aware attention of Lee et al. 2019 (each entity vector queries the sentence tokens)::

    states = ERNIE(input_ids)                                  [B, T, H]
    e_k    = states[start_k]            (pooling=entity_start: the [E1]/[E2] marker states)
           | mean(states[start_k+1 : end_k])  (pooling=entity_mean: the tokens between markers)
    c_k    = EntityAwareAttention(query=e_k, keys=states)      (use_attention)
    z      = [h_CLS; e_1; e_2; c_1; c_2]                       [B, 5H]
    h      = ResidualMLP(tanh(W z))                            (use_residual)   [B, H]
    logits = W_out dropout(h)                                  [B, 19]

With ``pooling=cls`` (the ablation) there are no entity vectors: ``[CLS]`` alone is the query
and ``z = [h_CLS; c_CLS]`` (or ``h_CLS``).
"""
from dataclasses import dataclass

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ernie_res.config import option
from ernie_res.layers.attention import EntityAwareAttention, masked_mean
from ernie_res.layers.residual import ResidualMLP
from ernie_res.models.base import ExportSpec, ModelConfig, TaskModel

POOLINGS = ("cls", "entity_start", "entity_mean")


@dataclass
class RelClassifierConfig(ModelConfig):
    name: str = option("rel_classifier", "Model registry name.")
    pooling: str = option("entity_start", "Entity representations: entity_start = the "
                          "[E1]/[E2] marker states (MTB), entity_mean = mean of the tokens "
                          "between the markers (R-BERT), cls = [CLS] only (the ablation).",
                          POOLINGS)
    use_attention: bool = option(True, "Entity-aware attention: each entity vector queries the "
                                 "sentence tokens and the contexts are concatenated to the "
                                 "features.")
    attention_heads: int = option(4, "Heads of the entity-aware attention (must divide the "
                                  "hidden size).", ge=1)
    use_residual: bool = option(True, "A pre-LN residual MLP block on the fused vector before "
                                "the classifier.")
    dropout: float = option(0.1, "Dropout in the head.", ge=0, lt=1)


def _gather_positions(states, positions):
    """``states[b, positions[b]]`` for every row b.

    Args:
        states (Tensor): float ``[B, T, H]``.
        positions (Tensor): int64 ``[B]``.
    Returns:
        Tensor: ``[B, H]``.
    """
    h = states.shape[-1]
    idx = positions.reshape([-1, 1, 1]).expand([-1, 1, h])               # shape: [B, 1, H]
    return paddle.take_along_axis(states, idx, axis=1).squeeze(1)        # shape: [B, H]


def span_inner_mask(span, seq_len):
    """1 at the tokens strictly between a span's two marker positions.

    Args:
        span (Tensor): int64 ``[B, 2]``, (start marker, end marker) positions.
        seq_len (int or Tensor): T; a 0-D integer tensor (``paddle.shape(x)[1]``) when T is a
            dynamic dimension of a traced graph.
    Returns:
        Tensor: bool ``[B, T]``.
    """
    pos = paddle.arange(seq_len, dtype=span.dtype).unsqueeze(0)         # shape: [1, T]
    return (pos > span[:, :1]) & (pos < span[:, 1:])                    # shape: [B, T]


class RelClassifier(TaskModel):
    """See the module docstring.

    Args:
        config (RelClassifierConfig): the ``Model`` section.
        encoder (nn.Layer): a PaddleNLP ERNIE model (``encoder.config.hidden_size``).
        num_labels (int): number of classes (19 for SemEval-2010 Task 8).
    """
    Config = RelClassifierConfig

    def __init__(self, config, encoder, num_labels):
        super().__init__()
        if num_labels < 2:
            raise ValueError(f"RelClassifier: expected at least 2 labels, got {num_labels}")
        if config.pooling not in POOLINGS:
            raise ValueError(f"RelClassifier: expected pooling in {list(POOLINGS)}, got "
                             f"{config.pooling!r}")
        hidden = encoder.config.hidden_size
        self.config = config
        self.encoder = encoder
        self.num_queries = 1 if config.pooling == "cls" else 2
        if config.use_attention:
            if config.attention_heads <= 0 or hidden % config.attention_heads:
                raise ValueError(f"RelClassifier: expected attention_heads to divide the hidden "
                                 f"size {hidden}, got {config.attention_heads}")
            self.attention = EntityAwareAttention(hidden, config.attention_heads,
                                                  dropout=config.dropout)
        else:
            self.attention = None
        n_parts = 1 + (self.num_queries if config.pooling != "cls" else 0)
        n_parts += self.num_queries if config.use_attention else 0
        self.dropout = nn.Dropout(config.dropout)
        self.fuse = nn.Linear(n_parts * hidden, hidden)
        self.residual = ResidualMLP(hidden, dropout=config.dropout) if config.use_residual \
            else None
        self.classifier = nn.Linear(hidden, num_labels)

    @paddle.jit.not_to_static
    def _validate(self, input_ids, attention_mask, e1_span, e2_span, labels):
        if input_ids.ndim != 2:
            raise ValueError(f"RelClassifier: expected input_ids of shape [batch_size, seq_len],"
                             f" got {list(input_ids.shape)}")
        b = input_ids.shape[0]
        if list(attention_mask.shape) != list(input_ids.shape):
            raise ValueError(f"RelClassifier: expected attention_mask of shape "
                             f"{list(input_ids.shape)} (as input_ids), got "
                             f"{list(attention_mask.shape)}")
        for name, span in (("e1_span", e1_span), ("e2_span", e2_span)):
            if span is None and self.config.pooling == "cls":      # [CLS] alone: not read
                continue
            if span is None:
                raise ValueError(f"RelClassifier: expected {name} (pooling="
                                 f"{self.config.pooling} reads the entity marker positions), "
                                 f"got None")
            if list(span.shape) != [b, 2]:
                raise ValueError(f"RelClassifier: expected {name} of shape [batch_size, 2] = "
                                 f"[{b}, 2] (start and end marker positions), got "
                                 f"{list(span.shape)}")
            if not paddle.is_integer(span):
                raise ValueError(f"RelClassifier: expected {name} of an integer dtype, got "
                                 f"{span.dtype}")
        if labels is not None and labels.size != b:
            raise ValueError(f"RelClassifier: expected labels of shape [batch_size] = [{b}], "
                             f"got {list(labels.shape)}")

    def features(self, input_ids, attention_mask, e1_span=None, e2_span=None):
        """The fused relation vector before the classifier.

        Args:
            input_ids (Tensor): int64 ``[B, T]`` word pieces with the four markers.
            attention_mask (Tensor): int64 ``[B, T]``, 1 for real tokens.
            e1_span, e2_span (Tensor): int64 ``[B, 2]``, positions of each entity's start and
                end marker in ``input_ids``; not read (may be None) with ``pooling=cls``.
        Returns:
            dict: ``hidden`` float32 ``[B, H]``; ``entities`` ``[B, Q, H]`` (the attention
            queries: e1 and e2, or [CLS] when pooling=cls).
        """
        states = self.encoder(input_ids, attention_mask=attention_mask)[0]  # shape: [B, T, H]
        cls = states[:, 0]                                                   # shape: [B, H]
        if self.config.pooling == "entity_start":
            ents = [_gather_positions(states, e1_span[:, 0]),
                    _gather_positions(states, e2_span[:, 0])]                # 2 x [B, H]
        elif self.config.pooling == "entity_mean":
            t = paddle.shape(states)[1]        # T as a tensor: right when T is dynamic too
            ents = [masked_mean(states, span_inner_mask(e1_span, t)),
                    masked_mean(states, span_inner_mask(e2_span, t))]        # 2 x [B, H]
        else:
            ents = []
        queries = paddle.stack(ents if ents else [cls], axis=1)              # shape: [B, Q, H]
        parts = [cls] + ents
        if self.attention is not None:
            ctx = self.attention(queries, states, attention_mask)["context"]  # shape: [B, Q, H]
            parts += [ctx[:, q] for q in range(self.num_queries)]
        z = paddle.concat(parts, axis=-1)                                    # shape: [B, P*H]
        h = paddle.tanh(self.fuse(self.dropout(z)))                          # shape: [B, H]
        if self.residual is not None:
            h = self.residual(h)                                             # shape: [B, H]
        return {"hidden": h, "entities": queries}

    def forward(self, input_ids, attention_mask, e1_span=None, e2_span=None, labels=None):
        """Classify the relation between the two marked entities.

        Args:
            input_ids (Tensor): int64 ``[B, T]``.
            attention_mask (Tensor): int64 ``[B, T]``, 1 for real tokens.
            e1_span, e2_span (Tensor): int64 ``[B, 2]`` marker positions (start, end);
                optional with ``pooling=cls``, which does not read them.
            labels (Tensor, optional): int64 ``[B]`` class ids.
        Returns:
            dict: ``logits`` float32 ``[B, K]``, ``probs`` float32 ``[B, K]`` and, with labels,
            ``loss`` (mean cross entropy, a scalar).
        """
        self._validate(input_ids, attention_mask, e1_span, e2_span, labels)
        h = self.features(input_ids, attention_mask, e1_span, e2_span)["hidden"]
        logits = self.classifier(self.dropout(h)).astype("float32")        # shape: [B, K]
        out = {"logits": logits, "probs": F.softmax(logits, axis=-1)}
        if labels is not None:
            out["loss"] = F.cross_entropy(logits, labels.reshape([-1]))
        return out

    def export_programs(self):
        """``"model"``: ``probs`` float32 ``[B, K]`` from the inputs ``RelTask.collate`` gives:
        ``input_ids``, ``attention_mask`` int64 ``[B, T]`` and the entity marker positions
        ``e1_span``, ``e2_span`` int64 ``[B, 2]``. With ``pooling=cls`` the spans do not reach
        the output, and a saved program may not take an input it does not use (Paddle prunes
        it and refuses the feed), so that ablation's program takes the first two only."""
        inputs = (("input_ids", [None, None], "int64"), ("attention_mask", [None, None], "int64"))
        if self.config.pooling != "cls":
            inputs += (("e1_span", [None, 2], "int64"), ("e2_span", [None, 2], "int64"))
        return {"model": ExportSpec(layer=_Probs(self), inputs=inputs, outputs=("probs",))}


class _Probs(nn.Layer):
    """``RelClassifier`` reduced to its probabilities, for the static graph; the spans are
    absent with ``pooling=cls`` (see ``export_programs``)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, e1_span=None, e2_span=None):
        return self.model(input_ids, attention_mask, e1_span, e2_span)["probs"]
