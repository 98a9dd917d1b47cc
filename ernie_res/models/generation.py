"""Decoding from a ``TextVAE``: sampling (temperature, top-k, top-p), greedy, beam search.

Every function takes latent codes ``z [N, Z]`` (None for the LM baseline) and returns word-
piece id lists without the start and end tokens. The decoder is re-run over the whole
prefix at each step: simple, exact for both decoders, and fast enough for sentence-length
outputs.
"""
import numpy as np
import paddle
import paddle.nn.functional as F


def _filter(logits, top_k, top_p):
    """Mask logits outside the top-k and outside the nucleus of mass ``top_p`` (Holtzman et
    al. 2020). ``logits``: float32 ``[N, V]``."""
    if top_k > 0:
        kth = paddle.topk(logits, min(top_k, logits.shape[-1]), axis=-1)[0][:, -1:]
        logits = paddle.where(logits < kth, paddle.full_like(logits, -1e9), logits)
    if 0.0 < top_p < 1.0:
        sorted_logits, idx = paddle.sort(logits, axis=-1, descending=True), \
            paddle.argsort(logits, axis=-1, descending=True)
        probs = F.softmax(sorted_logits, axis=-1)
        cum = paddle.cumsum(probs, axis=-1)
        drop_sorted = (cum - probs) > top_p              # keep the first token always
        drop = paddle.zeros_like(drop_sorted).astype("int64")
        drop = paddle.put_along_axis(drop, idx, drop_sorted.astype("int64"), axis=-1)
        logits = paddle.where(drop.astype("bool"), paddle.full_like(logits, -1e9), logits)
    return logits


@paddle.no_grad()
def sample(model, z, num, max_len, temperature=1.0, top_k=0, top_p=1.0, greedy=False):
    """Ancestral sampling (or greedy decoding) of ``num`` sequences."""
    model.eval()
    ids = paddle.full([num, 1], model.bos_id, dtype="int64")
    done = np.zeros(num, dtype=bool)
    for _ in range(max_len):
        logits = model.decode(ids, paddle.ones_like(ids), z)[:, -1]         # shape: [N, V]
        if greedy:
            nxt = logits.argmax(-1)
        else:
            probs = F.softmax(_filter(logits / max(temperature, 1e-6), top_k, top_p), -1)
            nxt = paddle.multinomial(probs, 1).squeeze(-1)
        ids = paddle.concat([ids, nxt.unsqueeze(-1)], axis=1)
        done |= nxt.numpy() == model.eos_id
        if done.all():
            break
    return [_strip(row, model.eos_id) for row in ids.numpy()[:, 1:]]


@paddle.no_grad()
def beam_search(model, z, beam_size, max_len):
    """Beam search per latent code; the best finished hypothesis by mean log-probability."""
    model.eval()
    out = []
    for i in range(1 if z is None else z.shape[0]):
        zi = None if z is None else z[i:i + 1]
        beams = [([model.bos_id], 0.0, False)]
        for _ in range(max_len):
            if all(b[2] for b in beams):
                break
            live = [b for b in beams if not b[2]]
            ids = paddle.to_tensor([b[0] for b in live], dtype="int64")
            zb = None if zi is None else zi.tile([len(live), 1])
            logp = F.log_softmax(model.decode(ids, paddle.ones_like(ids), zb)[:, -1], -1).numpy()
            cand = [b for b in beams if b[2]]
            for b, row in zip(live, logp):
                for tok in np.argsort(-row)[:beam_size]:
                    cand.append((b[0] + [int(tok)], b[1] + float(row[tok]),
                                 int(tok) == model.eos_id))
            beams = sorted(cand, key=lambda b: b[1] / len(b[0]), reverse=True)[:beam_size]
        out.append(_strip(np.array(beams[0][0][1:]), model.eos_id))
    return out


def _strip(row, eos):
    row = list(int(t) for t in row)
    return row[:row.index(eos)] if eos in row else row


def decode_latents(model, z, num, max_len, decoding="sample", temperature=1.0, top_k=0,
                   top_p=1.0, beam_size=4):
    if decoding == "beam":
        return beam_search(model, z, beam_size, max_len)
    return sample(model, z, num, max_len, temperature, top_k, top_p, greedy=decoding == "greedy")
