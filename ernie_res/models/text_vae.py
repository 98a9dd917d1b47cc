"""Text VAE on ERNIE (and, with ``latent_size: 0``, the same decoder as a plain LM).

Encoder: ERNIE token states -> masked attention pooling -> ``GaussianPosterior`` (mu, log
sigma^2). Decoder: an autoregressive GRU or Transformer over the backbone's word pieces,
conditioned on ``z`` through its input embeddings and its initial state / memory
(``LatentInjector``). Sentences are ``[CLS] w_1 .. w_n [SEP]``: the decoder reads
``[CLS] w_1 .. w_n`` and predicts ``w_1 .. w_n [SEP]``, so the end token is predicted and the
start token is not (the PPL convention of He et al. 2019).

Objective (per sentence): ``rec + beta * KL`` where ``rec = -log p(x|z)`` with one
reparameterised sample, KL is closed form, beta follows ``Model.beta_schedule`` and the KL
term optionally has a free-bits floor per dimension. ``docs/generation.md`` derives it.

Training hooks (``models/base.py``): ``train_strategy()`` returns ``AggressiveEM``
(``models/vae_em.py``), which sets the step that drives beta before every update, runs the
EM-style alternation of He et al. 2019 through ``aggressive_active()`` /
``encoder_parameters()`` / ``decoder_parameters()`` and ends it through ``after_eval(metrics)``
once the dev mutual information stops rising; ``set_final_eval()`` switches evaluation to
``iw_samples`` importance samples.

Deployment: ``export_programs()`` gives an ``encoder`` (posterior means) and a one-step
``decoder_step``; ``models/generation.py`` runs the decoding loop over either, eager or under
Paddle Inference.
"""
from dataclasses import dataclass

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ernie_res.config import ConfigError, option
from ernie_res.layers.attention import MaskedAttentionPooling
from ernie_res.layers.lm_decoder import build_decoder
from ernie_res.layers.vae import (GaussianPosterior, LatentInjector, WordDropout, free_bits_kl,
                                  gaussian_kl, reparameterize)
from ernie_res.metrics.vae import iw_log_likelihood
from ernie_res.models.base import ExportSpec, ModelConfig, TaskModel
from ernie_res.models.beta_schedule import BetaSchedule
from ernie_res.models.vae_em import AggressiveEM

#: Logits elements ``[B * k', T, V]`` of one importance-sampling decode: 2e8 float32 values are
#: 800 MB (plus the loss's log-softmax of the same size). The final evaluation decodes all
#: sentences of a batch with as many of the ``k`` samples per call as fit (one call for the
#: tiny config; 2 samples x 32 sentences per call for ERNIE-base's 30k vocabulary at 95 pieces),
#: never one sentence or, unless a single sample exceeds it, one sample at a time.
IW_LOGITS_ELEMENTS = 2e8


@dataclass
class TextVAEConfig(ModelConfig):
    name: str = option("text_vae", "Model registry name.")
    freeze_encoder: bool = option(False, "Keep ERNIE's weights fixed (pooling and posterior "
                                         "train).")
    latent_size: int = option(32, "Size of z; 0 gives the LM baseline (same decoder, no "
                                  "latent).", ge=0)
    decoder: str = option("transformer", "Autoregressive decoder.", ("transformer", "gru"))
    decoder_hidden: int = option(256, "Decoder width.", ge=1)
    decoder_layers: int = option(2, "Decoder layers.", ge=1)
    decoder_heads: int = option(4, "Transformer decoder heads (must divide decoder_hidden).",
                                ge=1)
    max_len: int = option(128, "Longest decoder input (word pieces); at least "
                               "Data.max_seq_len - 1.", ge=1)
    dropout: float = option(0.1, "Decoder dropout.", ge=0, lt=1)
    word_dropout: float = option(0.0, "Probability of replacing a decoder input token by [UNK] "
                                      "(Bowman et al. 2016).", ge=0, le=1)
    beta_schedule: str = option("cyclical", "KL weight schedule.",
                                ("constant", "linear", "cyclical"))
    beta_max: float = option(1.0, "Final / maximum KL weight.", ge=0)
    beta_warmup_steps: int = option(1000, "Linear schedule: steps from 0 to beta_max.", ge=0)
    beta_cycles: int = option(4, "Cyclical schedule: number of cycles M (Fu et al. 2019).",
                              ge=1)
    beta_ratio: float = option(0.5, "Cyclical schedule: increasing fraction R of each cycle.",
                               gt=0, le=1)
    free_bits: float = option(0.5, "Free-bits floor per latent dimension in nats (0 disables).",
                              ge=0)
    aggressive: bool = option(True, "EM-style aggressive encoder updates (He et al. 2019) until "
                                    "the dev mutual information stops rising.")
    aggressive_max_inner: int = option(30, "At most this many encoder-only updates per E-step.",
                                       ge=1)
    dev_iw_samples: int = option(0, "Importance samples for the NLL at evaluations during "
                                    "training (0: report the negative ELBO).", ge=0, runtime=True)
    iw_samples: int = option(500, "Importance samples for the NLL in tools/eval.py (0: the "
                                  "negative ELBO).", ge=0, runtime=True)
    svi_steps: int = option(0, "SA-VAE refinement at evaluation: gradient steps on each "
                               "sentence's (mu, log sigma^2) before scoring (Kim et al. 2018).",
                            ge=0, runtime=True)
    svi_lr: float = option(0.5, "Step size of that refinement.", gt=0, runtime=True)

    def __post_init__(self):
        if self.decoder == "transformer" and self.decoder_hidden % self.decoder_heads:
            raise ConfigError(f"decoder_heads: expected a divisor of decoder_hidden = "
                              f"{self.decoder_hidden}, got {self.decoder_heads}")


class TextVAE(TaskModel):
    Config = TextVAEConfig

    def __init__(self, config, encoder, vocab_size, pad_id, unk_id, bos_id, eos_id):
        super().__init__()
        self.config = config
        c = config
        self.vocab_size, self.pad_id, self.bos_id, self.eos_id = vocab_size, pad_id, bos_id, eos_id
        if c.latent_size > 0:
            self.encoder = encoder
            if c.freeze_encoder:
                for p in encoder.parameters():
                    p.stop_gradient = True
            h = encoder.config.hidden_size
            self.pool = MaskedAttentionPooling(h)
            self.posterior = GaussianPosterior(h, c.latent_size)
            self.injector = LatentInjector(c.latent_size, c.decoder_hidden)
        self.embed = nn.Embedding(vocab_size, c.decoder_hidden)
        self.word_drop = WordDropout(c.word_dropout, unk_id)
        self.decoder = build_decoder(c.decoder, c.decoder_hidden, c.decoder_layers,
                                     c.decoder_heads, c.dropout, c.max_len)
        self.out = nn.Linear(c.decoder_hidden, vocab_size)
        self.drop = nn.Dropout(c.dropout)
        self.register_buffer("step_state", paddle.to_tensor([0, 1], dtype="int64"))
        # aggressive phase on/off and the best dev MI so far: saved with the weights
        self.register_buffer("aggressive_state", paddle.to_tensor(
            [1.0 if c.aggressive and c.latent_size > 0 else 0.0, -1e9], dtype="float32"))
        self.final_eval = False

    # ------------------------------------------------------------------ training hooks
    def set_step(self, step, total):
        self.step_state.set_value(paddle.to_tensor([step, max(total, 1)], dtype="int64"))

    def beta(self):
        step, total = (int(x) for x in self.step_state.numpy())
        c = self.config
        kw = {"constant": {}, "linear": {"warmup_steps": c.beta_warmup_steps},
              "cyclical": {"total_steps": max(total, c.beta_cycles), "n_cycles": c.beta_cycles,
                           "ratio": c.beta_ratio}}[c.beta_schedule]
        return BetaSchedule(c.beta_schedule, beta_max=c.beta_max, **kw)(step)

    def aggressive_active(self):
        return bool(self.aggressive_state.numpy()[0] > 0)

    def after_eval(self, metrics):
        """End the aggressive phase once the dev mutual information stops rising."""
        on, best = (float(x) for x in self.aggressive_state.numpy())
        if on <= 0:
            return None
        on = 1.0 if metrics["mi"] > best else 0.0
        self.aggressive_state.set_value(paddle.to_tensor([on, max(best, metrics["mi"])],
                                                         dtype="float32"))
        if on > 0:
            return None
        return (f"aggressive encoder updates ended: dev MI {metrics['mi']:.4f} did not rise "
                f"above {best:.4f}; training encoder and decoder jointly from now on")

    def encoder_parameters(self):
        if self.config.latent_size == 0:
            return []
        return [p for layer in (self.encoder, self.pool, self.posterior)
                for p in layer.parameters() if not p.stop_gradient]

    def decoder_parameters(self):
        enc = {id(p) for p in self.encoder_parameters()}
        return [p for p in self.parameters() if id(p) not in enc and not p.stop_gradient]

    def set_final_eval(self, enabled=True):
        self.final_eval = bool(enabled)

    def train_strategy(self):
        return AggressiveEM(self, self.config.aggressive_max_inner)

    # ------------------------------------------------------------------ pieces
    def encode(self, input_ids, attention_mask):
        """``[B, T]`` ids and mask -> ``mu, logvar`` float32 ``[B, Z]``."""
        states = self.encoder(input_ids, attention_mask=attention_mask)[0]   # shape: [B, T, H]
        pooled = self.pool(states, attention_mask)["pooled"]                 # shape: [B, H]
        q = self.posterior(pooled.astype("float32"))
        return q["mu"], q["logvar"]

    def decoder_inputs(self, ids, z):
        """Decoder input embeddings ``[N, T, D]`` of ``ids [N, T]`` with z's offset added, and
        the memory ``[N, D]`` (``LatentInjector``); ``z`` None (the LM): no offset, memory
        None."""
        emb = self.embed(ids)                                                # shape: [N, T, D]
        if z is None:
            return emb, None
        inj = self.injector(z)                 # (its embeddings= check does not trace)
        return emb + inj["embedding"].unsqueeze(1), inj["memory"]           # [N, T, D], [N, D]

    def decode(self, dec_in, dec_mask, z):
        """Teacher-forced logits ``[N, T, V]`` for decoder inputs ``[N, T]`` and ``z [N, Z]``."""
        ids = self.word_drop(dec_in, (dec_mask == 0) | (paddle.arange(dec_in.shape[1]) == 0))
        emb, memory = self.decoder_inputs(ids, z)
        states = self.decoder(self.drop(emb), memory, dec_mask)              # shape: [N, T, D]
        return self.out(self.drop(states)).astype("float32")                # shape: [N, T, V]

    def gru_step(self, token, state, first=None, z=None):
        """One GRU decoding step (eval): read ``token [N]`` int64 from ``state [L, N, D]``
        (replaced by z's initial state where ``first [1]`` is 1); returns ``(logits [N, V]
        float32 of the next token, new state [L, N, D])``."""
        emb, memory = self.decoder_inputs(token.unsqueeze(1), z)            # shape: [N, 1, D]
        if memory is not None:
            start = self.decoder.initial_state(memory, emb)                  # shape: [L, N, D]
            state = paddle.where(first.astype("bool"), start, state)
        out, state = self.decoder.step(emb, state)                           # shape: [N, 1, D]
        return self.out(out[:, 0]).astype("float32"), state                 # [N, V], [L, N, D]

    def transformer_step(self, token, keys, values, z=None):
        """One Transformer decoding step (eval): read ``token [N]`` int64 at position ``t``
        given the cached ``keys``/``values [L, N, heads, t, D / heads]`` float32 of the earlier
        positions; returns ``(logits [N, V] float32 of the next token, keys, values
        [L, N, heads, t + 1, D / heads])``."""
        emb, memory = self.decoder_inputs(token.unsqueeze(1), z)            # shape: [N, 1, D]
        out, keys, values = self.decoder.step(emb, memory, keys, values)    # shape: [N, 1, D]
        return self.out(out[:, 0]).astype("float32"), keys, values          # shape: [N, V]

    @staticmethod
    def token_nll(logits, target, mask):
        """Per-sentence ``-log p(x|z)``: ``[N, T, V], [N, T], [N, T] -> [N]``."""
        nll = F.cross_entropy(logits, target.unsqueeze(-1), reduction="none").squeeze(-1)
        return (nll * mask.astype("float32")).sum(-1)                        # shape: [N]

    def _split(self, input_ids, attention_mask):
        return (input_ids[:, :-1], attention_mask[:, :-1], input_ids[:, 1:],
                attention_mask[:, 1:])

    # ------------------------------------------------------------------ forward
    def forward(self, input_ids, attention_mask):
        """Args: ``input_ids``/``attention_mask`` int64 ``[B, T]`` (``[CLS] .. [SEP]``, padded).

        Returns:
            dict: ``loss`` (scalar), ``rec`` / ``kl`` / ``num_tokens`` ``[B]``, ``mu`` /
            ``logvar`` ``[B, Z]`` (``[B, 0]`` for the LM), ``log`` (scalars to plot),
            and in evaluation ``iw_nll [B]`` when importance samples are configured.
        """
        dec_in, dec_mask, target, tgt_mask = self._split(input_ids, attention_mask)
        num_tokens = tgt_mask.astype("float32").sum(-1)                      # shape: [B]
        b = input_ids.shape[0]
        if self.config.latent_size == 0:
            rec = self.token_nll(self.decode(dec_in, dec_mask, None), target, tgt_mask)
            zeros = paddle.zeros([b, 0], dtype="float32")      # no latent dimensions
            return {"loss": rec.mean(), "rec": rec, "kl": paddle.zeros([b]), "mu": zeros,
                    "logvar": zeros, "num_tokens": num_tokens, "iw_nll": rec,
                    "log": {"rec": rec.mean()}}
        mu, logvar = self.encode(input_ids, attention_mask)
        if not self.training and self.config.svi_steps > 0:
            mu, logvar = self.refine(mu, logvar, dec_in, dec_mask, target, tgt_mask)
        z = reparameterize(mu, logvar, 1).squeeze(1)                        # shape: [B, Z]
        rec = self.token_nll(self.decode(dec_in, dec_mask, z), target, tgt_mask)   # [B]
        kl_dims = gaussian_kl(mu, logvar)                                    # shape: [B, Z]
        kl = kl_dims.sum(-1)                                                 # shape: [B]
        beta = self.beta()
        kl_term = free_bits_kl(kl_dims, self.config.free_bits) if self.config.free_bits > 0 \
            else kl.mean()
        out = {"loss": rec.mean() + beta * kl_term, "rec": rec, "kl": kl, "mu": mu,
               "logvar": logvar, "num_tokens": num_tokens,
               "log": {"rec": rec.mean(), "kl": kl.mean(), "beta": beta,
                       "elbo": -(rec + kl).mean()}}
        k = self.config.iw_samples if self.final_eval else self.config.dev_iw_samples
        if not self.training and k > 0:
            out["iw_nll"] = self.iw_nll(mu, logvar, dec_in, dec_mask, target, tgt_mask, k)
        return out

    def iw_nll(self, mu, logvar, dec_in, dec_mask, target, tgt_mask, k):
        """Importance-weighted NLL with ``k`` samples from q (Burda et al. 2016): ``[B]``."""
        b, t = dec_in.shape
        z = reparameterize(mu, logvar, k)                                    # shape: [B, K, Z]
        per_chunk = max(1, int(IW_LOGITS_ELEMENTS // max(1, b * t * self.vocab_size)))
        logp = []
        for s in range(0, k, per_chunk):
            zs = z[:, s:s + per_chunk]                                       # shape: [B, k', Z]
            n = zs.shape[1]
            rep = lambda x: x.unsqueeze(1).tile([1, n, 1]).reshape([b * n, -1])  # noqa: E731
            logits = self.decode(rep(dec_in), rep(dec_mask), zs.reshape([b * n, -1]))
            logp.append(-self.token_nll(logits, rep(target), rep(tgt_mask)).reshape([b, n]))
        log_px_z = paddle.concat(logp, axis=1)                               # shape: [B, K]
        return paddle.to_tensor(-iw_log_likelihood(log_px_z, z, mu, logvar), dtype="float32")

    def refine(self, mu, logvar, dec_in, dec_mask, target, tgt_mask):
        """SA-VAE: ``svi_steps`` gradient-ascent steps on each sentence's ELBO over (mu, logvar),
        starting from the encoder's output (Kim et al. 2018)."""
        mu = mu.detach().clone()
        logvar = logvar.detach().clone()
        with paddle.set_grad_enabled(True), self.decoder.differentiable_eval():
            for _ in range(self.config.svi_steps):
                mu.stop_gradient = logvar.stop_gradient = False
                z = reparameterize(mu, logvar, 1).squeeze(1)
                loss = (self.token_nll(self.decode(dec_in, dec_mask, z), target, tgt_mask)
                        + gaussian_kl(mu, logvar).sum(-1)).sum()
                loss.backward()          # paddle.grad fails through the fused RNN op here
                mu = (mu - self.config.svi_lr * mu.grad).detach()
                logvar = (logvar - self.config.svi_lr * logvar.grad).detach()
        for p in self.parameters():      # only (mu, logvar) were being optimised
            p.clear_gradient(False)
        return mu, logvar

    # ------------------------------------------------------------------ export
    def export_programs(self):
        """``encoder`` and ``decoder_step``; the decoding loop (sampling, greedy, beam search)
        runs outside them, in ``models/generation.py``.

        ``encoder``: ``input_ids``, ``attention_mask`` int64 ``[B, T]`` -> ``mu`` float32
        ``[B, Z]``, the posterior mean (a sentence embedding too). The LM baseline
        (``latent_size: 0``) has no encoder.

        ``decoder_step`` reads one token per row and gives the logits ``[B, V]`` (float32) of
        the next, and the decoder's state after it. The state tensors are the inputs that are
        also outputs (batch on axis 1); the loop passes them back at the next step, reorders
        their rows for beam search, and starts them at zeros:

        * GRU: ``token [B]`` int64, ``state [L, B, D]`` float32, ``first [1]`` int64, ``z [B, Z]``
          float32 -> ``logits``, ``state``. The initial state ``tanh(W_m z + b_m)`` needs the
          injector's weights, which live in the program: where ``first`` is 1 the step starts
          from it and ignores ``state``, so no third program is needed.
        * Transformer: ``token [B]`` int64, ``keys`` and ``values [L, B, heads, t, D / heads]``
          float32 (the self-attention cache of the ``t`` positions read so far; ``t = 0`` at
          the start), ``z`` -> ``logits``, ``keys``, ``values`` (``t + 1`` positions).

        Why a key/value cache rather than re-running the Transformer over the prefix at every
        step (stateless, one path shared with training, and what the dynamic-graph loop used to
        do): step ``t`` of a re-run costs ``t`` positions, a sentence ``O(T^2)``, and it needs
        the causal mask, which Paddle Inference's oneDNN matmul broadcasts slowly. Measured
        with the default decoder (256 wide, 2 layers, 4 heads, 30k pieces), 48 steps of 50
        rows on 2 busy CPU threads: re-run 10 s (oneDNN off) and 54 s (on, the default);
        cached 4.5-6 s, dominated by the output projection. The cache's price is copying
        ``2 L B t D`` floats through NumPy each step (a few MB) and the incremental attention
        path (Paddle's ``MultiHeadAttention.Cache``), which tests compare with the
        teacher-forced logits.

        The LM's ``decoder_step`` has no ``z`` (a width-0 tensor is not a valid input) and its
        GRU no ``first`` (its initial state is zeros, which the loop passes).
        """
        c = self.config
        latent = c.latent_size > 0
        z = (("z", [None, c.latent_size], "float32"),) if latent else ()
        if c.decoder == "gru":
            inputs = (("token", [None], "int64"),
                      ("state", [c.decoder_layers, None, c.decoder_hidden], "float32"))
            if latent:
                inputs += (("first", [1], "int64"),) + z
            step = ExportSpec(_GRUStep(self) if latent else _LMGRUStep(self), inputs,
                              ("logits", "state"))
        else:
            cache = self.decoder.cache_shape()
            inputs = (("token", [None], "int64"), ("keys", cache, "float32"),
                      ("values", cache, "float32")) + z
            step = ExportSpec(_TransformerStep(self) if latent else _LMTransformerStep(self),
                              inputs, ("logits", "keys", "values"))
        if not latent:
            return {"decoder_step": step}
        encoder = ExportSpec(_Encoder(self), (("input_ids", [None, None], "int64"),
                                              ("attention_mask", [None, None], "int64")),
                             ("mu",))
        return {"encoder": encoder, "decoder_step": step}


class _Program(nn.Layer):
    """A ``TextVAE`` reduced to one program's tensors, for the static graph."""

    def __init__(self, model):
        super().__init__()
        self.model = model


class _Encoder(_Program):
    def forward(self, input_ids, attention_mask):
        return self.model.encode(input_ids, attention_mask)[0]             # shape: [B, Z]


class _GRUStep(_Program):
    def forward(self, token, state, first, z):
        return self.model.gru_step(token, state, first, z)


class _LMGRUStep(_Program):
    def forward(self, token, state):
        return self.model.gru_step(token, state)


class _TransformerStep(_Program):
    def forward(self, token, keys, values, z):
        return self.model.transformer_step(token, keys, values, z)


class _LMTransformerStep(_Program):
    def forward(self, token, keys, values):
        return self.model.transformer_step(token, keys, values)
