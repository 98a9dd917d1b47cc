import numpy as np

from ernie_res.engine.vdl import VDLWriter, flatten_hparams, pr_counts, read_scalars


def test_pr_counts_match_brute_force():
    rng = np.random.RandomState(0)
    labels = rng.randint(0, 2, 200)
    scores = rng.rand(200)
    c = pr_counts(labels, scores, 11)
    for i in range(11):
        pos = np.floor(scores * 10) >= i          # the bucket of a score is floor(s * (K-1))
        assert c["tp"][i] == int(((labels == 1) & pos).sum())
        assert c["fp"][i] == int(((labels == 0) & pos).sum())
        assert c["fn"][i] == int(((labels == 1) & ~pos).sum())
        assert c["tn"][i] == int(((labels == 0) & ~pos).sum())


def test_hparams_are_visualdl_safe():
    flat = flatten_hparams({"Train": {"amp": False, "lr": 1e-3, "x": None, "l": [1, 2]}})
    assert flat == {"Train.amp": "False", "Train.lr": 1e-3, "Train.x": "None",
                    "Train.l": "[1, 2]"}


def test_writer_round_trip(tmp_path):
    w = VDLWriter(tmp_path)
    w.scalar("train/loss", 2.0, 1)
    w.scalar("train/loss", 1.0, 2)
    w.hparams({"Train": {"amp": True}}, ["eval/accuracy"])      # the PaddleNLP callback fails here
    w.pr_curve("pr_curve/a", np.array([1, 0, 1]), np.array([0.9, 0.2, 0.4]), 1)
    w.close()
    assert read_scalars(tmp_path) == {"train/loss": [(1, 2.0), (2, 1.0)]}
    disabled = VDLWriter(tmp_path / "none", enabled=False)
    disabled.scalar("x", 1, 1)
    assert not (tmp_path / "none").exists()


def test_pr_counts_survive_non_finite_scores():
    """A diverged model's NaN probabilities used to crash bincount ('list' argument must have
    no negative elements) inside the PR curve; they now count as score 0."""
    import numpy as np

    c = pr_counts(np.array([1, 0, 1]), np.array([np.nan, 0.5, np.inf]), num_thresholds=3)
    assert c["tp"][0] == 2 and c["fp"][0] == 1                  # every example at threshold 0
    assert c["tp"][2] == 1                                      # inf clips to 1.0
