"""Document classifier: ERNIE -> residual blocks -> pooling -> (chunk pooling) -> linear.

Input documents arrive as ``[batch_size, num_chunks, seq_len]`` windows (``num_chunks`` is 1
with head+tail truncation). Each non-empty window is encoded by ERNIE; its token states go
through ``num_res_blocks`` mask-aware residual convolution blocks and are pooled to one
vector (``[CLS]``, masked mean, or masked additive attention, Yang et al. 2016); the window
vectors of a document are then attention-pooled (or averaged) into the document vector,
which a dropout + linear layer maps to class logits.
"""
from dataclasses import dataclass

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ernie_res.config import ConfigError, option
from ernie_res.layers.attention import MaskedAttentionPooling, masked_mean, zero_padded
from ernie_res.layers.residual import ResidualStack
from ernie_res.models.base import ExportSpec, ModelConfig, TaskModel


@dataclass
class DocClassifierConfig(ModelConfig):
    name: str = option("doc_classifier", "Model registry name.")
    num_res_blocks: int = option(1, "Residual conv blocks over the token states (0 disables "
                                    "them).", ge=0)
    res_kernel_size: int = option(3, "Kernel size of the residual convolutions (odd).", ge=1)
    res_norm: str = option("layer", "Normalisation inside residual blocks; batch is mask-aware "
                                    "BatchNorm.", ("layer", "batch", "none"))
    pooling: str = option("attention", "Token pooling per window.", ("cls", "mean", "attention"))
    chunk_pooling: str = option("attention", "Pooling over the windows of a document "
                                             "(Data.truncation=chunks).", ("attention", "mean"))
    dropout: float = option(0.1, "Dropout in the head.", ge=0, lt=1)

    def __post_init__(self):
        if self.res_kernel_size % 2 == 0:
            raise ConfigError(f"res_kernel_size: expected an odd number (the convolution keeps "
                              f"the length), got {self.res_kernel_size}")


@paddle.jit.not_to_static
def _check_inputs(input_ids, attention_mask):
    if len(input_ids.shape) != 3 or list(attention_mask.shape) != list(input_ids.shape):
        raise ValueError(f"DocClassifier: expected input_ids and attention_mask of shape "
                         f"[batch_size, num_chunks, seq_len], got {list(input_ids.shape)} "
                         f"and {list(attention_mask.shape)}")


class DocClassifier(TaskModel):
    Config = DocClassifierConfig

    def __init__(self, config, encoder, num_labels):
        super().__init__()
        if num_labels < 2:
            raise ValueError(f"DocClassifier: expected at least 2 labels, got {num_labels}")
        self.config = config
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.residual = ResidualStack(config.num_res_blocks, hidden,
                                      kernel_size=config.res_kernel_size,
                                      dropout=config.dropout, norm=config.res_norm)
        self.token_pool = MaskedAttentionPooling(hidden) if config.pooling == "attention" else None
        self.chunk_pool = (MaskedAttentionPooling(hidden)
                           if config.chunk_pooling == "attention" else None)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(hidden, num_labels)

    def encode_windows(self, input_ids, attention_mask):
        """Pool every window to one vector.

        Args:
            input_ids (Tensor): int64 ``[N, T]`` word-piece ids of N non-empty windows.
            attention_mask (Tensor): int64 ``[N, T]``, 1 for real tokens.

        Returns:
            Tensor: float32 ``[N, H]``.
        """
        states = self.encoder(input_ids, attention_mask=attention_mask)[0]   # shape: [N, T, H]
        states = self.residual(states, attention_mask)                       # shape: [N, T, H]
        if self.config.pooling == "cls":
            return states[:, 0]                                              # shape: [N, H]
        if self.config.pooling == "mean":
            return masked_mean(states, attention_mask)                       # shape: [N, H]
        return self.token_pool(states, attention_mask)["pooled"]             # shape: [N, H]

    def pool_documents(self, input_ids, attention_mask):
        """One vector per document from its non-empty windows, for any number of windows.

        Only the windows whose mask is not all zero are encoded (``nonzero`` + ``gather_nd``);
        their vectors are put back in place by index arithmetic, padding windows get zero
        vectors, and the chunk pooling ignores them. No step reads a shape or branches, so it
        traces to one straight-line graph for dynamic B, C and T (the export runs it for every
        C). With C = 1 it equals ``encode_windows`` of the single windows: pooling over one
        real window gives it weight exactly 1.

        Args:
            input_ids (Tensor): int64 ``[B, C, T]``.
            attention_mask (Tensor): int64 ``[B, C, T]``; every document has a non-empty
                window.

        Returns:
            Tensor: float32 ``[B, H]``.
        """
        chunk_mask = attention_mask.sum(-1) > 0                              # shape: [B, C]
        keep = paddle.nonzero(chunk_mask)                                    # shape: [N, 2]
        enc = self.encode_windows(paddle.gather_nd(input_ids, keep),
                                  paddle.gather_nd(attention_mask, keep))    # shape: [N, H]
        # row of enc holding window (b, c): the real windows before it, in row-major order
        real = chunk_mask.astype("int64")                                    # shape: [B, C]
        per_doc = real.sum(-1)                                               # shape: [B]
        before = (paddle.cumsum(per_doc) - per_doc).unsqueeze(-1)            # shape: [B, 1]
        row = paddle.clip(before + paddle.cumsum(real, axis=-1) - 1, min=0)  # shape: [B, C]
        vecs = paddle.gather_nd(enc, row.unsqueeze(-1))                      # shape: [B, C, H]
        vecs = zero_padded(vecs, chunk_mask)                                 # shape: [B, C, H]
        if self.chunk_pool is not None:
            return self.chunk_pool(vecs, chunk_mask)["pooled"]               # shape: [B, H]
        return masked_mean(vecs, chunk_mask)                                 # shape: [B, H]

    def forward(self, input_ids, attention_mask, labels=None):
        """Classify documents.

        Args:
            input_ids (Tensor): int64 ``[B, C, T]``, C windows of T word pieces per document.
            attention_mask (Tensor): int64 ``[B, C, T]``; a window whose mask is all zero is
                padding (documents with fewer windows) and is not encoded.
            labels (Tensor, optional): int64 ``[B]`` class ids.

        Returns:
            dict: ``logits`` float32 ``[B, K]``, ``probs`` float32 ``[B, K]`` and, when
            labels are given, ``loss`` (mean cross entropy, a scalar).
        """
        _check_inputs(input_ids, attention_mask)
        if input_ids.shape[1] == 1:        # one window each (head_tail, head): the fast path
            doc = self.encode_windows(input_ids.squeeze(1),
                                      attention_mask.squeeze(1))             # shape: [B, H]
        else:
            doc = self.pool_documents(input_ids, attention_mask)             # shape: [B, H]
        logits = self.logits(doc)                                            # shape: [B, K]
        out = {"logits": logits, "probs": F.softmax(logits, axis=-1)}
        if labels is not None:
            out["loss"] = F.cross_entropy(logits, labels.reshape([-1]))
        return out

    def logits(self, doc):
        """float32 ``[B, K]`` class scores of document vectors ``doc`` ``[B, H]``."""
        return self.classifier(self.dropout(doc)).astype("float32")

    def export_programs(self):
        """``"model"``: ``probs`` float32 ``[B, K]`` from ``input_ids`` and ``attention_mask``
        int64 ``[B, C, T]``, for any number of windows C (every truncation mode); the program
        always runs ``pool_documents``, which equals the forward's one-window fast path."""
        return {"model": ExportSpec(layer=_Probs(self),
                                    inputs=(("input_ids", [None, None, None], "int64"),
                                            ("attention_mask", [None, None, None], "int64")),
                                    outputs=("probs",))}


class _Probs(nn.Layer):
    """``DocClassifier`` reduced to its probabilities, through ``pool_documents`` whatever C
    is: the forward's ``C == 1`` branch would trace to a control-flow op holding both paths;
    this is one path, equal to both."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        _check_inputs(input_ids, attention_mask)
        doc = self.model.pool_documents(input_ids, attention_mask)          # shape: [B, H]
        return F.softmax(self.model.logits(doc), axis=-1)                   # shape: [B, K]
