"""Config loading and validation (ernie_res/config.py), with the registries bound by api."""
import pytest

from ernie_res.api import SCHEMAS, load_config
from ernie_res.config import ConfigError, Schemas, apply_overrides, resolve

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


@pytest.mark.parametrize("override, message", [
    ("Train.batch_size=0", r"Train.batch_size: expected a value >= 1, got 0"),
    ("Train.eval_batch_size=0", r"Train.eval_batch_size: expected a value >= 1, got 0"),
    ("Optimizer.lr=0", r"Optimizer.lr: expected a value > 0, got 0.0"),
    ("Optimizer.beta2=1.0", r"Optimizer.beta2: expected a value >= 0 and < 1, got 1.0"),
    ("Optimizer.group_lrs.crf=-1", r"Optimizer.group_lrs: expected a value > 0, got -1.0"),
    ("Optimizer.lr=.nan", r"Optimizer.lr: expected a finite number, got nan"),
    ("Data.dev_ratio=1", r"Data.dev_ratio: expected a value > 0 and < 1, got 1.0"),
    ("Model.dropout=1", r"Model.dropout: expected a value >= 0 and < 1, got 1.0"),
    ("Model.res_kernel_size=4", r"Model.res_kernel_size: expected an odd number"),
    ("Data.head_tokens=-1", r"Data.head_tokens: expected a value >= 0, got -1"),
    ("Global.num_threads=-1", r"Global.num_threads: expected a value >= 0, got -1"),
])
def test_value_ranges_are_checked_at_load(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(BASE, [override])


def test_a_model_that_does_not_suit_the_task_is_refused_at_load():
    with pytest.raises(ConfigError, match=r"Model.name: 'seq_crf' cannot run Global.task 'doc'; "
                                          r"that task takes 'doc_classifier'"):
        load_config(BASE, ["Model.name=seq_crf"])
    with pytest.raises(ConfigError, match=r"Global.task: expected one of \['doc', 'gen', "
                                          r"'rel', 'seq'\], got 'dco'; did you mean 'doc'\?"):
        load_config(BASE, ["Global.task=dco"])


def test_cross_section_checks_run_at_load():
    gen = "configs/gen/ptb_vae.yaml"
    with pytest.raises(ConfigError, match=r"Model.max_len: expected at least Data.max_seq_len - "
                                          r"1 = 95 \(the decoder's longest input\), got 20"):
        load_config(gen, ["Model.decoder=transformer", "Model.max_len=20"])
    load_config(gen, ["Model.decoder=gru", "Model.max_len=20"])    # a GRU has no positions
    with pytest.raises(ConfigError, match=r"Model.decoder_heads: expected a divisor of "
                                          r"decoder_hidden = 30, got 8"):
        load_config(gen, ["Model.decoder_hidden=30"])


def test_config_module_knows_no_registry():
    """resolve validates against whatever schemas it is given."""
    schemas = Schemas(models=SCHEMAS.models, data=SCHEMAS.data)
    raw = {"Global": {"task": "doc"}, "Model": {"name": "seq_crf"}, "Data": {"root": "data"}}
    assert resolve(raw, schemas).Model.name == "seq_crf"      # no task_models: no pairing rule
    with pytest.raises(ConfigError, match="cannot run"):
        resolve(raw, SCHEMAS)


def test_every_bundled_config_loads():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    configs = sorted((root / "configs").rglob("*.yaml"))
    assert len(configs) == 8
    for c in configs:
        load_config(c)
