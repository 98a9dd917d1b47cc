"""AdamW with parameter groups, and the warm-up + decay learning-rate schedule.

* The backbone (the model's ``encoder`` child) trains at ``Optimizer.lr``; every other
  parameter at ``Optimizer.head_lr``; a direct child named in ``Optimizer.group_lrs`` (e.g.
  ``crf``) at its own rate. Paddle multiplies a parameter's ``optimize_attr['learning_rate']``
  with the scheduled global rate, so the groups carry *ratios* to ``lr`` and a single schedule
  drives all of them.
* Weight decay is decoupled (Loshchilov & Hutter 2019) and never applied to biases or to
  normalisation parameters (LayerNorm/BatchNorm scales and shifts), as in BERT.
"""
import math

import paddle

from ernie_res.config import ConfigError

NO_DECAY_LAYERS = (paddle.nn.LayerNorm, paddle.nn.BatchNorm1D, paddle.nn.BatchNorm2D,
                   paddle.nn.BatchNorm)


def _no_decay_names(model):
    """Names of parameters that must not be decayed: biases and every norm parameter."""
    names = set()
    for _, layer in model.named_sublayers(include_self=True):
        is_norm = isinstance(layer, NO_DECAY_LAYERS) or "norm" in type(layer).__name__.lower()
        for pname, p in layer.named_parameters(include_sublayers=False):
            if is_norm or pname.endswith("bias") or p.ndim == 1:
                names.add(p.name)
    return names


def param_groups(model, opt_cfg):
    """Split trainable parameters into groups with learning-rate ratios.

    Returns:
        list[dict]: Paddle parameter groups ``{"params": [...], "learning_rate": ratio}``.
    """
    head_ratio = (opt_cfg.head_lr if opt_cfg.head_lr is not None else opt_cfg.lr) / opt_cfg.lr
    children = dict(model.named_children())
    # a child switched off by the config (SeqTagger's crf with head=softmax) is an attribute
    # holding None: its group_lrs key is accepted and has nothing to apply to
    empty_slots = {k for k, v in vars(model).items() if v is None and not k.startswith("_")}
    for key in opt_cfg.group_lrs:
        if key not in children and key not in empty_slots:
            raise ConfigError(f"Optimizer.group_lrs.{key}: the model has no child layer {key!r} "
                              f"(children: {', '.join(children)})")
    groups = {}
    for child_name, child in children.items():
        if child_name in opt_cfg.group_lrs:
            ratio = opt_cfg.group_lrs[child_name] / opt_cfg.lr
        elif child_name == "encoder":
            ratio = 1.0
        else:
            ratio = head_ratio
        params = [p for p in child.parameters() if not p.stop_gradient]
        if params:
            groups.setdefault(ratio, []).extend(params)
    own = [p for p in model.parameters(include_sublayers=False) if not p.stop_gradient]
    if own:
        groups.setdefault(head_ratio, []).extend(own)
    return [{"params": ps, "learning_rate": r} for r, ps in sorted(groups.items())]


def lr_lambda(schedule, warmup_steps, total_steps):
    """Multiplier of the peak rate at a given step (linear warm-up, then decay to 0)."""
    def fn(step):
        if warmup_steps > 0 and step < warmup_steps:
            return (step + 1) / warmup_steps
        if schedule == "constant" or total_steps <= warmup_steps:
            return 1.0
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        if schedule == "linear":
            return max(0.0, 1.0 - progress)
        return 0.5 * (1.0 + math.cos(math.pi * progress))  # cosine
    return fn


def build_optimizer(model, opt_cfg, total_steps, max_grad_norm):
    """Return ``(optimizer, scheduler)`` for ``total_steps`` optimizer steps."""
    warmup = opt_cfg.warmup_steps if opt_cfg.warmup_steps > 0 else \
        int(round(opt_cfg.warmup_ratio * total_steps))
    scheduler = paddle.optimizer.lr.LambdaDecay(
        opt_cfg.lr, lr_lambda(opt_cfg.schedule, warmup, total_steps))
    no_decay = _no_decay_names(model)
    clip = paddle.nn.ClipGradByGlobalNorm(max_grad_norm) if max_grad_norm > 0 else None
    optimizer = paddle.optimizer.AdamW(
        learning_rate=scheduler, parameters=param_groups(model, opt_cfg),
        beta1=opt_cfg.beta1, beta2=opt_cfg.beta2, epsilon=opt_cfg.epsilon,
        weight_decay=opt_cfg.weight_decay, grad_clip=clip,
        apply_decay_param_fun=lambda name: name not in no_decay)
    return optimizer, scheduler


def global_grad_norm(parameters):
    """L2 norm of all gradients (before clipping), as a Python float."""
    sq = [paddle.sum(paddle.square(p.grad.astype("float32")))
          for p in parameters if p.grad is not None]
    if not sq:
        return 0.0
    return float(paddle.sqrt(paddle.add_n(sq)))
