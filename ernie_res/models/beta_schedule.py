"""KL weight (beta) schedules for VAE training: constant, linear warm-up (KL annealing) and
cyclical annealing.

``loss = rec + beta(step) * kl``. Steps count optimizer updates from 0.

Sources:
    - Linear KL annealing: S. R. Bowman, L. Vilnis, O. Vinyals, A. M. Dai, R. Jozefowicz,
      S. Bengio, "Generating Sentences from a Continuous Space", CoNLL 2016.
    - Cyclical annealing: H. Fu, C. Li, X. Liu, J. Gao, A. Celikyilmaz, L. Carin, "Cyclical
      Annealing Schedule: A Simple Approach to Mitigating KL Vanishing", NAACL 2019 (eq. 6: M
      cycles over T steps; within a cycle, with ``tau`` the position in [0, 1), beta rises
      linearly from 0 to its maximum while ``tau <= R`` and then stays there).
    - Zero phase at the start of each cycle (``ratio_zero``): the schedule used to train
      Optimus (C. Li et al., EMNLP 2020; ``frange_cycle_zero_linear`` in its code), where beta
      is 0 for the first part of a cycle, then rises, then stays at its maximum.
"""
import math
import numbers

__all__ = ["linear_beta", "cyclical_beta", "BetaSchedule", "KINDS"]

KINDS = ("constant", "linear", "cyclical")


def _is_int(x):
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _is_num(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _check_step(owner, step):
    if not _is_int(step) or step < 0:
        raise ValueError(f"{owner}: expected step to be an int >= 0, got {step!r}")


def _check_beta_max(owner, beta_max):
    if not _is_num(beta_max) or beta_max < 0:
        raise ValueError(f"{owner}: expected beta_max to be a finite number >= 0, "
                         f"got {beta_max!r}")


def _check_warmup(owner, warmup_steps):
    if not _is_int(warmup_steps) or warmup_steps < 0:
        raise ValueError(f"{owner}: expected warmup_steps to be an int >= 0, "
                         f"got {warmup_steps!r}")


def linear_beta(step, warmup_steps, beta_max=1.0):
    """``beta = beta_max * min(1, step / warmup_steps)``; ``warmup_steps = 0`` gives beta_max.

    Args:
        step (int): optimizer step, >= 0.
        warmup_steps (int): steps to go from 0 to ``beta_max``, >= 0.
        beta_max (float): the final weight, >= 0.

    Returns:
        float: beta at ``step``.
    """
    _check_step("linear_beta", step)
    _check_warmup("linear_beta", warmup_steps)
    _check_beta_max("linear_beta", beta_max)
    if warmup_steps == 0:
        return float(beta_max)
    return float(beta_max) * min(1.0, step / warmup_steps)


def _check_cyclical(owner, total_steps, n_cycles, ratio, ratio_zero):
    if not _is_int(total_steps) or total_steps < 1:
        raise ValueError(f"{owner}: expected total_steps to be an int >= 1, got {total_steps!r}")
    if not _is_int(n_cycles) or not 1 <= n_cycles <= total_steps:
        raise ValueError(f"{owner}: expected n_cycles to be an int in [1, total_steps = "
                         f"{total_steps}], got {n_cycles!r}")
    if not _is_num(ratio) or not 0 < ratio <= 1:
        raise ValueError(f"{owner}: expected ratio in (0, 1], got {ratio!r}")
    if not _is_num(ratio_zero) or ratio_zero < 0 or ratio_zero + ratio > 1:
        raise ValueError(f"{owner}: expected ratio_zero >= 0 with ratio_zero + ratio <= 1, "
                         f"got ratio_zero={ratio_zero!r} and ratio={ratio!r}")


def cyclical_beta(step, total_steps, n_cycles, ratio, beta_max=1.0, ratio_zero=0.0):
    """Cyclical annealing (Fu et al. 2019), optionally with a zero phase (Optimus).

    Each of the ``n_cycles`` cycles lasts ``total_steps / n_cycles`` steps (not necessarily a
    whole number). With ``tau = ((step * n_cycles) mod total_steps) / total_steps``, the position
    in the current cycle in [0, 1), computed exactly in integers:
    ``beta = 0`` while ``tau < ratio_zero``, then
    ``beta = beta_max * min(1, (tau - ratio_zero) / ratio)``. After the last cycle
    (``step >= total_steps``) beta stays at ``beta_max``.

    Args:
        step (int): optimizer step, >= 0.
        total_steps (int): T, the steps covered by the cycles, >= 1.
        n_cycles (int): M, in ``[1, total_steps]``.
        ratio (float): R in (0, 1], the fraction of a cycle spent rising.
        beta_max (float): the weight at the top of each cycle, >= 0.
        ratio_zero (float): fraction of a cycle at beta = 0 before rising (0 in Fu et al.);
            ``ratio_zero + ratio <= 1``.

    Returns:
        float: beta at ``step``.
    """
    _check_step("cyclical_beta", step)
    _check_cyclical("cyclical_beta", total_steps, n_cycles, ratio, ratio_zero)
    _check_beta_max("cyclical_beta", beta_max)
    if step >= total_steps:
        return float(beta_max)
    # position in the current cycle, in [0, 1), exact in integers
    tau = ((int(step) * int(n_cycles)) % int(total_steps)) / int(total_steps)
    if tau < ratio_zero:
        return 0.0
    return float(beta_max) * min(1.0, (tau - ratio_zero) / ratio)


class BetaSchedule:
    """A beta schedule picked by ``kind``; call it with the step to get beta.

    - ``"constant"``: ``beta_max`` at every step (takes only ``beta_max``);
    - ``"linear"``: ``linear_beta`` (takes ``warmup_steps``, ``beta_max``);
    - ``"cyclical"``: ``cyclical_beta`` (takes ``total_steps`` (required), ``n_cycles``
      (default 4), ``ratio`` (default 0.5), ``ratio_zero`` (default 0), ``beta_max``).

    Passing an argument the chosen kind does not use is an error, so a misplaced config key
    does not go unnoticed. Arguments are checked here, not at the first call.

    Args:
        kind (str): one of ``KINDS``.
        beta_max (float): the maximum / constant weight (default 1.0).
        warmup_steps (int): linear only, default 0.
        total_steps, n_cycles, ratio, ratio_zero: cyclical only, see ``cyclical_beta``.
    """

    _USES = {"constant": (), "linear": ("warmup_steps",),
             "cyclical": ("total_steps", "n_cycles", "ratio", "ratio_zero")}

    def __init__(self, kind="constant", beta_max=1.0, warmup_steps=None, total_steps=None,
                 n_cycles=None, ratio=None, ratio_zero=None):
        if kind not in KINDS:
            raise ValueError(f"BetaSchedule: expected kind in {list(KINDS)}, got {kind!r}")
        given = {"warmup_steps": warmup_steps, "total_steps": total_steps,
                 "n_cycles": n_cycles, "ratio": ratio, "ratio_zero": ratio_zero}
        for name, value in given.items():
            if value is not None and name not in self._USES[kind]:
                raise ValueError(f"BetaSchedule: expected no {name} for kind {kind!r} (it takes "
                                 f"{['beta_max', *self._USES[kind]]}), got {name}={value!r}")
        _check_beta_max("BetaSchedule", beta_max)
        self.kind = kind
        self.beta_max = beta_max
        self.warmup_steps = 0 if warmup_steps is None else warmup_steps
        self.total_steps = total_steps
        self.n_cycles = 4 if n_cycles is None else n_cycles
        self.ratio = 0.5 if ratio is None else ratio
        self.ratio_zero = 0.0 if ratio_zero is None else ratio_zero
        if kind == "linear":
            _check_warmup("BetaSchedule", self.warmup_steps)
        elif kind == "cyclical":
            if total_steps is None:
                raise ValueError("BetaSchedule: expected total_steps for kind 'cyclical', "
                                 "got None")
            _check_cyclical("BetaSchedule", total_steps, self.n_cycles, self.ratio,
                            self.ratio_zero)

    def __call__(self, step):
        """Return beta (float) at optimizer step ``step`` (int >= 0)."""
        if self.kind == "linear":
            return linear_beta(step, self.warmup_steps, self.beta_max)
        if self.kind == "cyclical":
            return cyclical_beta(step, self.total_steps, self.n_cycles, self.ratio,
                                 self.beta_max, self.ratio_zero)
        _check_step("BetaSchedule", step)
        return float(self.beta_max)

    def __repr__(self):
        args = {"constant": "", "linear": f", warmup_steps={self.warmup_steps}",
                "cyclical": f", total_steps={self.total_steps}, n_cycles={self.n_cycles}, "
                            f"ratio={self.ratio}, ratio_zero={self.ratio_zero}"}[self.kind]
        return f"BetaSchedule(kind={self.kind!r}, beta_max={self.beta_max}{args})"
