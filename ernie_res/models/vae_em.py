"""The text VAE's training step: EM-style alternation with "aggressive" E-steps.

He, Spokoyny, Neubig and Berg-Kirkpatrick 2019 ("Lagging Inference Networks and Posterior
Collapse in Variational Autoencoders") observe that early in training q(z|x) lags behind the
true posterior of the current decoder, which pushes the model into collapse. Before every
decoder update they optimise the encoder alone, on fresh batches, until its ELBO stops
improving (the E-step: a better variational posterior for a fixed generative model); then
they make one decoder update (the M-step). The alternation ends once the mutual
information I_q(x; z) on the dev set stops rising; training is joint after that.

Here one optimizer serves both steps: parameters whose gradient is released (``None``) are
skipped by Paddle's optimizers, so an E-step releases the decoder's gradients before
stepping and the M-step releases the encoder's. Fresh batches come from
``ctx.fresh_batches``, whose order is a function of the seed and the training step, so a
resumed run draws the same batches. The strategy also sets the step that drives the KL
weight (beta) before every update.

The hooks are those of ``TrainStrategy`` (``models/base.py``); the model provides
``set_step``, ``aggressive_active``, ``encoder_parameters``, ``decoder_parameters`` and
``after_eval`` (``models/text_vae.py``).
"""
from ernie_res.models.base import TrainStrategy

CHECK_EVERY = 5     # compare the mean inner loss of consecutive groups of this many updates
SEED_OFFSET = 7919  # the E-step's batch order is seeded apart from the main loop's


def e_step(ctx, decoder_params, step, max_inner):
    """Run up to ``max_inner`` encoder-only updates; returns how many were made.

    Stops early when the mean loss of the last ``CHECK_EVERY`` updates is no lower than that
    of the ``CHECK_EVERY`` before them (the encoder's objective stopped improving).
    """
    prev, group, n = float("inf"), 0.0, 0
    for n, batch in enumerate(ctx.fresh_batches(SEED_OFFSET, epoch=step), 1):
        loss = ctx.forward(batch)["loss"]
        ctx.backward(loss)
        ctx.update(frozen=decoder_params)
        group += float(loss)
        if n % CHECK_EVERY == 0:
            if group / CHECK_EVERY >= prev:
                break
            prev, group = group / CHECK_EVERY, 0.0
        if n >= max_inner:
            break
    return n


class AggressiveEM(TrainStrategy):
    """E-steps before each update while the model's aggressive phase lasts; the update
    itself is then the M-step (decoder only). Logs ``train/e_steps``."""

    def __init__(self, model, max_inner):
        self.model = model
        self.max_inner = max_inner

    def begin_update(self, ctx, step, total):
        self.model.set_step(step, total)
        if not self.model.aggressive_active():
            return {}
        return {"e_steps": e_step(ctx, self.model.decoder_parameters(), step, self.max_inner)}

    def before_optimizer_step(self, ctx):
        if self.model.aggressive_active():
            ctx.release(self.model.encoder_parameters())      # the M-step: decoder only

    def after_evaluation(self, metrics):
        return self.model.after_eval(metrics)
