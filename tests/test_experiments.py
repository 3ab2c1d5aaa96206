"""The recipe and the named experiments (gcnn.experiments), and the flags that read them."""

from __future__ import annotations

import pytest

from gcnn.experiments import (
    DEFAULT_SWEEP_SUBSET,
    EXPERIMENTS,
    SETS,
    SHIPPED,
    TrainConfig,
    differences_besides_seed,
    run_dir,
)
from gcnn.train import parser as train_parser


def test_sweep_subset_default_and_all():
    """The default sweep turns 2,000 test digits; '--sweep-subset all' asks for every one."""
    assert TrainConfig().sweep_subset == DEFAULT_SWEEP_SUBSET == 2000
    parser = train_parser()
    assert parser.parse_args([]).sweep_subset == 2000
    assert parser.parse_args(["--sweep-subset", "all"]).sweep_subset is None
    assert parser.parse_args(["--sweep-subset", "500"]).sweep_subset == 500
    with pytest.raises(SystemExit):
        parser.parse_args(["--sweep-subset", "many"])


def test_differences_besides_seed_ignores_the_seed_and_fills_defaults():
    a = {"model": "gcnn", "group": "C4", "epochs": 10, "seed": 0}
    b = {**a, "seed": 3, "augment": "none"}          # 'augment' at its default: no difference
    assert differences_besides_seed(a, b) == {}
    c = {**a, "epochs": 5, "augment": "rotate"}
    assert differences_besides_seed(a, c) == {"augment": ("none", "rotate"), "epochs": (10, 5)}


def test_every_experiment_is_a_valid_config_and_each_shipped_model_one_experiment(tmp_path):
    for name, experiment in EXPERIMENTS.items():
        cfg = experiment.config(epochs=5, seed=1)
        cfg.check()
        cfg.model_config()                     # the settings make a valid model
        args = train_parser().parse_args(experiment.options())
        assert TrainConfig(**{k: getattr(args, k) for k in experiment.settings}) == \
            TrainConfig(**experiment.settings), name
    for name, spec in SHIPPED.items():
        assert spec.experiment in EXPERIMENTS, name
        out = run_dir("runs", spec.experiment, spec.epochs, 0)
        assert f"--out {out} " in spec.command and spec.command.endswith(
            f"--export-pretrained {name}")
        assert spec.training["epochs"] == spec.epochs


def test_recipe_flags_default_to_the_posts_recipe_and_parse():
    """norm, lr_schedule and test_orbit: the post's recipe by default, and old configs read so."""
    parser = train_parser()
    args = parser.parse_args([])
    assert (args.norm, args.lr_schedule, args.test_orbit) == ("layer", "constant", None)
    args = parser.parse_args(["--norm", "batch", "--lr-schedule", "onecycle",
                              "--test-orbit", "0,22.5", "--method", "steerable"])
    assert (args.norm, args.lr_schedule, args.test_orbit) == ("batch", "onecycle", [0.0, 22.5])
    assert parser.parse_args(["--test-orbit", "none"]).test_orbit is None
    for bad in (["--norm", "group"], ["--lr-schedule", "step"], ["--test-orbit", "0,x"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    old = {"model": "gcnn", "group": "C4", "epochs": 10, "seed": 0}   # recorded before them
    assert differences_besides_seed(old, {**old, "norm": "layer", "lr_schedule": "constant",
                                          "test_orbit": None}) == {}
    assert TrainConfig().model_config() == TrainConfig(norm="layer").model_config()
    assert "norm" not in TrainConfig().model_config()


def test_recipe_candidates_are_described_and_depart_from_the_post():
    assert SETS["recipe"] == ["c4-post-recipe-new", "c8-steer", "c8-steer-one-pass", "c8-steer-ln",
                              "c16-steer"]
    for name in SETS["recipe"]:
        experiment = EXPERIMENTS[name]
        assert experiment.description, name
        cfg = experiment.config(epochs=10)
        assert cfg.lr_schedule == "cosine", name
        assert bool(cfg.test_orbit) == (name != "c8-steer-one-pass"), name   # one pass: no orbit
    assert EXPERIMENTS["c4-post-recipe-new"].config(10).model_config()["hidden_channels"] == 16
    assert EXPERIMENTS["c8-steer"].config(10).method == "steerable"
