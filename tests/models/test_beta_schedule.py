"""Tests for ernie_res.engine.schedules: beta at hand-computed steps and every error path."""
import numpy as np
import pytest

from ernie_res.models.beta_schedule import BetaSchedule, cyclical_beta, linear_beta


def test_linear_beta_hand_values():
    assert [linear_beta(s, 4) for s in (0, 1, 2, 3, 4, 100)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert linear_beta(5, 10, beta_max=0.5) == 0.25
    assert linear_beta(0, 0, beta_max=0.7) == 0.7
    assert linear_beta(np.int64(2), 4) == 0.5  # numpy step counters are fine


def test_cyclical_beta_fu_et_al_hand_values():
    # T = 100, M = 4 -> cycles of 25 steps; R = 0.5 -> rise over 12.5 steps.
    got = [cyclical_beta(s, 100, 4, 0.5) for s in (0, 5, 10, 12, 13, 24, 25, 30, 50, 99, 100, 500)]
    assert got == pytest.approx([0.0, 0.4, 0.8, 0.96, 1.0, 1.0, 0.0, 0.4, 0.0, 1.0, 1.0, 1.0])
    assert cyclical_beta(30, 100, 4, 0.5, beta_max=0.5) == pytest.approx(0.2)


def test_cyclical_beta_with_fractional_cycle_length():
    # T = 10, M = 3 -> cycles of 10/3 steps: tau = (3 s mod 10) / 10 exactly.
    got = [cyclical_beta(s, 10, 3, 1.0) for s in range(10)]
    assert got == pytest.approx([0.0, 0.3, 0.6, 0.9, 0.2, 0.5, 0.8, 0.1, 0.4, 0.7])


def test_cyclical_beta_zero_phase_optimus():
    # one cycle of 8 steps: 2 steps at 0, rise over 4 steps, then 1.
    got = [cyclical_beta(s, 8, 1, 0.5, ratio_zero=0.25) for s in range(9)]
    assert got == pytest.approx([0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def test_beta_schedule_kinds():
    assert [BetaSchedule()(s) for s in (0, 10)] == [1.0, 1.0]
    assert BetaSchedule("constant", beta_max=0.3)(7) == 0.3
    lin = BetaSchedule("linear", warmup_steps=10, beta_max=2.0)
    assert [lin(s) for s in (0, 5, 10, 20)] == [0.0, 1.0, 2.0, 2.0]
    cyc = BetaSchedule("cyclical", total_steps=100)  # defaults: 4 cycles, ratio 0.5
    assert [cyc(s) for s in (0, 5, 25, 40)] == pytest.approx([0.0, 0.4, 0.0, 1.0])
    assert repr(cyc) == ("BetaSchedule(kind='cyclical', beta_max=1.0, total_steps=100, "
                         "n_cycles=4, ratio=0.5, ratio_zero=0.0)")


def test_schedule_errors():
    with pytest.raises(ValueError, match="linear_beta: expected step to be an int >= 0, got -1"):
        linear_beta(-1, 10)
    with pytest.raises(ValueError, match="expected warmup_steps to be an int >= 0, got 2.5"):
        linear_beta(1, 2.5)
    with pytest.raises(ValueError, match="expected beta_max to be a finite number >= 0, got -1"):
        linear_beta(1, 2, beta_max=-1)
    with pytest.raises(ValueError, match=r"cyclical_beta: expected ratio in \(0, 1\], got 0"):
        cyclical_beta(0, 100, 4, 0)
    with pytest.raises(ValueError, match=r"expected n_cycles to be an int in \[1, total_steps = "
                                         r"3\], got 4"):
        cyclical_beta(0, 3, 4, 0.5)
    with pytest.raises(ValueError, match="expected total_steps to be an int >= 1, got 0"):
        cyclical_beta(0, 0, 1, 0.5)
    with pytest.raises(ValueError, match=r"expected ratio_zero >= 0 with ratio_zero \+ ratio "
                                         r"<= 1, got ratio_zero=0.6 and ratio=0.5"):
        cyclical_beta(0, 10, 1, 0.5, ratio_zero=0.6)


def test_beta_schedule_errors():
    with pytest.raises(ValueError, match=r"BetaSchedule: expected kind in \['constant', "
                                         r"'linear', 'cyclical'\], got 'cosine'"):
        BetaSchedule("cosine")
    with pytest.raises(ValueError, match=r"expected no warmup_steps for kind 'constant' \(it "
                                         r"takes \['beta_max'\]\), got warmup_steps=100"):
        BetaSchedule("constant", warmup_steps=100)
    with pytest.raises(ValueError, match=r"expected no n_cycles for kind 'linear'"):
        BetaSchedule("linear", warmup_steps=10, n_cycles=2)
    with pytest.raises(ValueError, match="expected total_steps for kind 'cyclical', got None"):
        BetaSchedule("cyclical")
    with pytest.raises(ValueError, match=r"BetaSchedule: expected ratio in \(0, 1\], got 1.5"):
        BetaSchedule("cyclical", total_steps=10, ratio=1.5)
    with pytest.raises(ValueError, match="BetaSchedule: expected warmup_steps to be an int >= 0, "
                                         "got -3"):
        BetaSchedule("linear", warmup_steps=-3)
    with pytest.raises(ValueError, match="BetaSchedule: expected step to be an int >= 0, "
                                         "got 1.5"):
        BetaSchedule()(1.5)
