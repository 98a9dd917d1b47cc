import pytest

from ernie_res.config import ConfigError, apply_overrides, load_config

BASE = "configs/doc/20ng.yaml"


def test_yaml_loads_with_defaults_and_types():
    cfg = load_config(BASE)
    assert cfg.Global.task == "doc"
    assert cfg.Model.backbone == "ernie-2.0-base-en"
    assert cfg.Train.max_steps == 0 and cfg.Train.epochs == 4
    assert cfg.Optimizer.lr == pytest.approx(3e-5)
    assert cfg.Optimizer.group_lrs == {}


def test_overrides_are_parsed_as_yaml():
    cfg = load_config(BASE, ["Train.max_steps=7", "Model.backbone=/tmp/x", "Train.amp=false",
                             "Data.remove=[headers]", "Optimizer.lr=1e-4",
                             "Optimizer.group_lrs.classifier=0.01"])
    assert cfg.Train.max_steps == 7 and cfg.Train.amp is False
    assert cfg.Model.backbone == "/tmp/x" and cfg.Data.remove == ["headers"]
    assert cfg.Optimizer.lr == pytest.approx(1e-4)   # PyYAML reads 1e-4 as a string
    assert cfg.Optimizer.group_lrs == {"classifier": 0.01}


def test_int_accepted_for_float_but_not_bool_for_int():
    assert load_config(BASE, ["Optimizer.lr=1"]).Optimizer.lr == 1.0
    with pytest.raises(ConfigError, match=r"Train.epochs: expected int, got True"):
        load_config(BASE, ["Train.epochs=true"])


def test_unknown_key_names_nearest():
    with pytest.raises(ConfigError, match=r"unknown key Train.epoch; did you mean Train.epochs\?"):
        load_config(BASE, ["Train.epoch=3"])
    with pytest.raises(ConfigError, match=r"unknown key Model.poolin; did you mean Model.pooling"):
        load_config(BASE, ["Model.poolin=cls"])
    with pytest.raises(ConfigError, match=r"unknown section Trian; did you mean Train\?"):
        load_config(BASE, ["Trian.epochs=3"])


def test_wrong_type_and_choice():
    with pytest.raises(ConfigError, match=r"Train.batch_size: expected int, got 'many'"):
        load_config(BASE, ["Train.batch_size=many"])
    with pytest.raises(ConfigError, match=r"Global.device: expected one of \['auto', 'cpu', "
                                          r"'gpu'\], got 'tpu'"):
        load_config(BASE, ["Global.device=tpu"])
    with pytest.raises(ConfigError, match=r"Model.pooling: expected one of"):
        load_config(BASE, ["Model.pooling=max"])


def test_bad_override_syntax_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"expected Section.key=value"):
        apply_overrides({}, ["Train.epochs"])
    with pytest.raises(ConfigError, match=r"config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("Global: [1, 2\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: invalid YAML"):
        load_config(bad)


def test_dump_round_trips(tmp_path):
    cfg = load_config(BASE, ["Train.max_steps=3"])
    cfg.dump(tmp_path / "c.yaml")
    again = load_config(tmp_path / "c.yaml")
    assert again.to_dict() == cfg.to_dict()


def test_derived_values_are_not_written_back():
    cfg = load_config(BASE)
    before = cfg.to_dict()
    cfg.replace("Train", max_steps=5)
    assert cfg.to_dict() == before
