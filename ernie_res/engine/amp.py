"""Automatic mixed precision on the GPU: ``auto_cast`` for the forward pass and a
``GradScaler`` for float16 (bfloat16 has float32's exponent range and needs no scaling).

On the CPU the object is a pass-through, so the trainer calls it the same way everywhere.
"""
import contextlib

import paddle


class AMP:
    """Args: enabled (bool), dtype ("float16"|"bfloat16"), level ("O1"|"O2"), device
    ("cpu"|"gpu"), logger (for the one warning when AMP is asked for on the CPU)."""

    def __init__(self, enabled, dtype="float16", level="O1", device="cpu", logger=None):
        self.enabled = bool(enabled) and device == "gpu"
        if enabled and device != "gpu" and logger is not None:
            logger.warning("Train.amp=true needs a GPU; training in float32 on the CPU")
        self.dtype, self.level = dtype, level
        self.scaler = (paddle.amp.GradScaler(init_loss_scaling=2.0 ** 15)
                       if self.enabled and dtype == "float16" else None)

    def decorate(self, model, optimizer):
        """O2 casts the model's weights (master weights stay float32 in the optimizer)."""
        if self.enabled and self.level == "O2":
            return paddle.amp.decorate(models=model, optimizers=optimizer, level="O2",
                                       dtype=self.dtype)
        return model, optimizer

    def autocast(self):
        if not self.enabled:
            return contextlib.nullcontext()
        return paddle.amp.auto_cast(enable=True, level=self.level, dtype=self.dtype)

    def backward(self, loss):
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer):
        """Divide the gradients by the loss scale (before measuring or clipping them)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer):
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()

    def state_dict(self):
        return self.scaler.state_dict() if self.scaler is not None else {}

    def set_state_dict(self, state):
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
