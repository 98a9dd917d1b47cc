"""GEN: sentence VAE (and LM baseline) on Penn Treebank-style text.

Sentences are tokenised with the backbone's word-piece tokenizer and framed as
``[CLS] pieces [SEP]``: ERNIE encodes that, the decoder reads it shifted by one. A sentence
longer than ``Data.max_seq_len`` is cut to fit (its ``[SEP]`` kept) and every cut is counted
and reported; blank lines are counted by the reader.
"""
from dataclasses import dataclass

import numpy as np
import paddle

from ernie_res.config import ConfigError, option
from ernie_res.data.collate import pad_2d
from ernie_res.data.sentences import read_sentence_inputs, read_sentences
from ernie_res.layers.vae import gaussian_kl
from ernie_res.metrics.vae import VAEMetric
from ernie_res.models import build_model
from ernie_res.models.generation import (BEAM_SIZE, LayerRunner, StepDecoder, decode_latents,
                                         sample)
from ernie_res.tasks.base import DataConfig, Task, no_examples

MODES = ("sample", "reconstruct", "interpolate")


@dataclass
class GenDataConfig(DataConfig):
    name: str = option("ptb", "Dataset reader (one sentence per line).", ("ptb",))
    root: str = option("", "Directory holding the one-sentence-per-line files train_file, "
                           "dev_file and test_file (required).")
    max_seq_len: int = option(64, "Word pieces per sentence, [CLS] and [SEP] included; longer "
                                  "ones are cut (and counted).", ge=3)
    max_examples: int = option(0, "First N sentences only (0 = all).", ge=0)
    train_file: str = option("ptb.train.txt", "Training file.")
    dev_file: str = option("ptb.valid.txt", "Dev file.")
    test_file: str = option("ptb.test.txt", "Test file.")


class GenTask(Task):
    name = "gen"
    DataConfig = GenDataConfig
    model_names = ("text_vae",)
    dataset = "ptb"

    @classmethod
    def check_config(cls, config):
        """The Transformer decoder reads ``[CLS] w_1 .. w_n``: up to ``Data.max_seq_len - 1``
        learned positions."""
        if config.Model.decoder == "transformer" \
                and config.Model.max_len < config.Data.max_seq_len - 1:
            raise ConfigError(f"Model.max_len: expected at least Data.max_seq_len - 1 = "
                              f"{config.Data.max_seq_len - 1} (the decoder's longest input), "
                              f"got {config.Model.max_len}")

    def load_examples(self, split):
        d = self.data_cfg
        path = self.split_path(split, {"train": d.train_file, "dev": d.dev_file,
                                       "test": d.test_file})
        examples, stats = read_sentences(path)
        if not examples:
            blank = stats["blank"]
            raise no_examples(self.name, split, path,
                              f"{blank} blank line{'s' if blank != 1 else ''}" if blank
                              else "the file is empty")
        if d.max_examples > 0:
            examples = examples[:d.max_examples]
        self.log(f"{split}: {len(examples)} sentences from {path} "
                 f"({stats['blank']} blank lines skipped)")
        return examples

    def build_labels(self, train_examples):
        return []            # unsupervised: no label vocabulary

    def encode_text(self, text):
        pieces = self.tokenizer.convert_tokens_to_ids(self.tokenizer.tokenize(text))
        budget = self.data_cfg.max_seq_len - 2
        ids = [self.tokenizer.cls_token_id] + pieces[:budget] + [self.tokenizer.sep_token_id]
        return ids, len(pieces) > budget

    def featurize(self, examples, split):
        feats, cut = [], 0
        for i, ex in enumerate(examples):
            ids, was_cut = self.encode_text(ex["text"])
            cut += was_cut
            feats.append({"input_ids": ids, "index": i})
        if cut:
            self.log(f"{split}: {cut}/{len(examples)} sentences longer than "
                     f"{self.data_cfg.max_seq_len - 2} word pieces were cut to fit")
        return feats

    def collate(self, features):
        return {"input_ids": pad_2d([f["input_ids"] for f in features],
                                    self.tokenizer.pad_token_id),
                "attention_mask": pad_2d([[1] * len(f["input_ids"]) for f in features], 0),
                "_index": np.array([f["index"] for f in features], dtype=np.int64)}

    def build_model(self, encoder):
        t = self.tokenizer
        return build_model(self.config.Model, encoder=encoder, vocab_size=len(t),
                           pad_id=t.pad_token_id, unk_id=t.unk_token_id, bos_id=t.cls_token_id,
                           eos_id=t.sep_token_id)

    def build_metric(self):
        return VAEMetric(seed=self.config.Global.seed)

    def update_metric(self, metric, outputs, batch):
        metric.update(outputs["rec"], outputs["kl"], outputs["num_tokens"], outputs["mu"],
                      outputs["logvar"], outputs.get("iw_nll"))

    def detok(self, ids):
        text = self.tokenizer.convert_tokens_to_string(self.tokenizer.convert_ids_to_tokens(ids))
        return " ".join(text.split())

    def _decode_len(self, model_config):
        """Tokens to generate at most: ``Data.max_seq_len``, within the Transformer
        decoder's ``Model.max_len`` positions."""
        if model_config.decoder == "transformer":
            return min(self.data_cfg.max_seq_len, model_config.max_len)
        return self.data_cfg.max_seq_len

    def _step_decoder(self, runner):
        return StepDecoder(runner, self.tokenizer.cls_token_id, self.tokenizer.sep_token_id)

    def log_eval_visuals(self, vdl, metric, step, model):
        """The KL per latent dimension, five sentences sampled from the prior (drawn from
        ``Global.seed`` and the step, not from Paddle's generator, so training's random stream
        is left alone) and the posterior means."""
        if metric.num_sentences == 0 or model.config.latent_size == 0:
            return
        mu, logvar = metric.mu, metric.logvar
        kl_dims = gaussian_kl(paddle.to_tensor(mu), paddle.to_tensor(logvar)).numpy().mean(0)
        vdl.histogram("eval/kl_per_dim", kl_dims, step)
        rng = np.random.default_rng([self.config.Global.seed % 2 ** 32, step])
        z = rng.standard_normal((5, model.config.latent_size), dtype=np.float32)
        seqs = sample(self._step_decoder(LayerRunner(model)), z, 5,
                      self._decode_len(model.config), rng)
        texts = [self.detok(s) for s in seqs]
        vdl.text("eval/samples", "\n\n".join(f"{i + 1}. {t}" for i, t in enumerate(texts)), step)
        model.train()
        vdl.embeddings(f"eval/posterior_means_step{step}", mu[:500],
                       [f"sentence {i}" for i in range(min(500, len(mu)))])

    # -- inference
    def read_infer_inputs(self, path):
        """Sentences to reconstruct or interpolate (``read_sentence_inputs``): one per line, a
        blank line answered in place, a bad line an error entry."""
        return read_sentence_inputs(path)

    def record_lines(self, examples, records, options):
        """Reconstructions answer their input lines; an interpolation point stands at the
        line of the first sentence of its pair; samples answer no line."""
        mode = options.get("mode") or "sample"
        if mode == "sample":
            return [None] * len(records)
        if mode == "interpolate":
            steps = options.get("steps") or 5
            return [examples[k // steps].get("line") for k in range(len(records))]
        return super().record_lines(examples, records, options)

    def _encode_means(self, runner, examples, batch_size):
        """Posterior means ``[N, Z]`` float32 of the examples (the ``encoder`` program),
        encoded ``batch_size`` at a time."""
        means = []
        for start in range(0, len(examples), batch_size):
            chunk = examples[start:start + batch_size]
            batch = self.collate([{"input_ids": self.encode_text(e["text"])[0], "index": i}
                                  for i, e in enumerate(chunk)])
            means.append(runner.run("encoder", batch)["mu"])
        return np.concatenate(means).astype(np.float32)

    def predict(self, runner, examples, opts):
        """Records for ``tools/infer.py --mode sample|reconstruct|interpolate``: sampled
        sentences, reconstructions of the input sentences, or points on the line between the
        posterior means of consecutive input sentences.

        ``runner`` runs the model's ``encoder`` and ``decoder_step`` programs (eager or Paddle
        Inference); the decoding loop runs here (``models/generation.py``), so both give the
        same sentences. What the model is (latent size, decoder) comes from ``Model`` of the
        task's config, the one the programs were built from.

        The programs see at most ``batch_size`` rows (default ``Train.eval_batch_size``) at a
        time, to encode and to decode (beam search: ``batch_size // beam_size`` sentences of
        ``beam_size`` hypotheses), so memory does not grow with the input. Random draws (the
        prior's z, sampled tokens) come from a NumPy generator seeded with ``seed`` (default
        0): z for all samples first, then the tokens batch by batch, so a sampled run that fits
        one batch draws the same whatever ``batch_size`` is.
        """
        mode = opts.get("mode") or "sample"
        if mode not in MODES:
            raise ValueError(f"GEN: --mode must be one of {list(MODES)}, got {mode!r}")
        c = self.config.Model
        dec = {k: opts[k] for k in ("decoding", "temperature", "top_p", "beam_size")
               if opts.get(k) is not None}
        if opts.get("sample_top_k") is not None:
            dec["top_k"] = opts["sample_top_k"]
        max_len = opts.get("max_len") or self._decode_len(c)
        if c.decoder == "transformer" and max_len > c.max_len:
            raise ValueError(f"GEN: --max_len: expected at most the decoder's Model.max_len = "
                             f"{c.max_len}, got {max_len}")
        batch_size = opts.get("batch_size") or self.config.Train.eval_batch_size
        rng = np.random.default_rng((opts.get("seed") or 0) % 2 ** 64)
        beam = dec.get("decoding") == "beam"
        per_call = max(1, batch_size // dec.get("beam_size", BEAM_SIZE)) if beam else batch_size

        def decode(z, n):
            """Word-piece ids of ``n`` sentences from ``z [n, Z]`` (None: the LM), in batches."""
            decoder = self._step_decoder(runner)
            if z is None and beam:
                return decode_latents(decoder, None, n, max_len, rng=rng, **dec)  # one beam
            seqs = []
            for start in range(0, n, per_call):
                k = min(per_call, n - start)
                zs = None if z is None else z[start:start + k]
                seqs += decode_latents(decoder, zs, k, max_len, rng=rng, **dec)
            return seqs

        if mode == "sample":
            n = opts.get("num_samples") or 10
            z = rng.standard_normal((n, c.latent_size), dtype=np.float32) if c.latent_size \
                else None
            return [{"id": f"sample:{i + 1}", "text": self.detok(s)}
                    for i, s in enumerate(decode(z, n))]
        if c.latent_size == 0:
            raise ValueError(f"GEN: --mode {mode} needs a latent space; this is the LM baseline")
        if not examples:
            raise ValueError(f"GEN: --mode {mode} needs --input sentences")
        if mode == "interpolate" and len(examples) < 2:
            raise ValueError("GEN: --mode interpolate needs at least two input sentences")
        mu = self._encode_means(runner, examples, batch_size)                # shape: [N, Z]
        if mode == "reconstruct":
            return [{"id": e["id"], "input": e["text"], "text": self.detok(s)}
                    for e, s in zip(examples, decode(mu, len(examples)))]
        steps = opts.get("steps") or 5
        t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]             # shape: [S, 1]
        records = []
        for a in range(len(examples) - 1):
            z = (1 - t) * mu[a:a + 1] + t * mu[a + 1:a + 2]                  # shape: [S, Z]
            records += [{"id": f"{examples[a]['id']}->{examples[a + 1]['id']}:{k}",
                         "alpha": round(float(t[k, 0]), 4), "text": self.detok(s)}
                        for k, s in enumerate(decode(z, steps))]
        return records
