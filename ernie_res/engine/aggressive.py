"""The E-step of EM-style VAE training: "aggressive" inference-network updates.

He, Spokoyny, Neubig and Berg-Kirkpatrick 2019 ("Lagging Inference Networks and Posterior
Collapse in Variational Autoencoders") observe that early in training q(z|x) lags behind the
true posterior of the current decoder, which pushes the model into collapse. Before every
decoder update they optimise the encoder alone, on fresh batches, until its ELBO stops
improving (the E-step: a better variational posterior for a fixed generative model); then
they make one decoder update (the M-step). The alternation ends once the mutual
information I_q(x; z) on the dev set stops rising; training is joint after that.

Here one optimizer serves both steps: parameters whose gradient is released (``None``) are
skipped by Paddle's optimizers, so an E-step releases the decoder's gradients before
stepping and the M-step releases the encoder's. Fresh batches are drawn from a sampler whose
epoch is a function of the training step, so a resumed run draws the same batches.
"""
from ernie_res.data.sampler import EpochBatchSampler

CHECK_EVERY = 5  # compare the mean inner loss of consecutive groups of this many updates


def release(params):
    for p in params:
        p.clear_gradient(False)


def encoder_updates(trainer, net, features, step, max_inner):
    """Run up to ``max_inner`` encoder-only updates; returns how many were made."""
    from ernie_res.engine.trainer import to_tensors

    model = trainer.model
    tc = trainer.cfg.Train
    sampler = EpochBatchSampler(len(features), tc.batch_size, shuffle=True,
                                seed=trainer.cfg.Global.seed + 7919, rank=trainer.rank,
                                world_size=trainer.world_size)
    sampler.set_epoch(step)
    decoder = model.decoder_parameters()
    prev, group, n = float("inf"), 0.0, 0
    for n, idx in enumerate(sampler, 1):
        batch = trainer.task.collate([features[i] for i in idx])
        with trainer.amp.autocast():
            loss = net(**to_tensors(batch))["loss"]
        trainer.amp.backward(loss)
        release(decoder)
        trainer.amp.unscale(trainer.optimizer)
        trainer.amp.step(trainer.optimizer)
        trainer.optimizer.clear_grad()
        group += float(loss)
        if n % CHECK_EVERY == 0:
            if group / CHECK_EVERY >= prev:      # the encoder's objective stopped improving
                break
            prev, group = group / CHECK_EVERY, 0.0
        if n >= max_inner:
            break
    return n
