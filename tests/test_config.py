import subprocess

import pytest
import yaml

from vtscale.config import ConfigError, from_dict, grid_settings, load, validate

PROFILES = ["config/demo.yaml", "config/tiny.yaml"]


@pytest.mark.parametrize("path", PROFILES)
def test_shipped_configs_are_valid(repo_root, path):
    load(repo_root / path, repo_root / "config/schema.yaml")


def _demo(repo_root):
    return yaml.safe_load((repo_root / "config/demo.yaml").read_text())


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c["world"].update(n_scenes=3), "world.n_scenes"),
        (lambda c: c.update(extra_top=1), "extra_top"),
        (lambda c: c["train"]["stage1"].update(lr="fast"), "train.stage1.lr"),
        (lambda c: c["grid"].update(n=[1, 0, 4]), "grid.n[1]"),
        (lambda c: c["grid"].update(n=[1, 2.5]), "grid.n[1]"),
        (lambda c: c["grid"].update(m_default=-1), "grid.m_default"),
        (lambda c: c["grid"].update(n=[1, 2], m_default=8), "grid.m_default"),
    ],
)
def test_bad_config_names_the_key(repo_root, mutate, key):
    config = _demo(repo_root)
    mutate(config)
    with pytest.raises(ConfigError) as err:
        validate(config, repo_root / "config/schema.yaml")
    message = str(err.value)
    assert key in message
    assert "\n" not in message


def test_schema_accepts_boolean_eval_strict_only(repo_root):
    config = _demo(repo_root)
    config["eval"]["strict"] = True
    validate(config, repo_root / "config/schema.yaml")
    config["eval"]["strict"] = "yes"
    with pytest.raises(ConfigError, match="eval.strict"):
        validate(config, repo_root / "config/schema.yaml")


def test_paper_profile_evaluates_strictly(repo_root):
    paper = yaml.safe_load((repo_root / "config/paper.yaml").read_text())
    validate(paper, repo_root / "config/schema.yaml")
    assert paper["eval"]["strict"] is True


def test_eval_strict_defaults_off_and_must_be_a_boolean():
    from vtscale.eval.config import eval_config

    assert eval_config({"eval": {}}).strict is False
    assert eval_config({"eval": {"strict": True}}).strict is True
    with pytest.raises(ConfigError, match="eval.strict: expected bool"):
        eval_config({"eval": {"strict": 1}})


def test_grid_settings_caps_m_at_n():
    assert grid_settings({"n": [1, 4, 16], "m_default": 8}) == [(1, 1), (4, 4), (16, 8)]


def test_from_dict_names_unknown_and_mistyped_keys():
    from dataclasses import dataclass

    @dataclass
    class Section:
        steps: int
        lr: float = 1e-3

    assert from_dict(Section, {"steps": 3, "lr": 1}) == Section(3, 1.0)
    with pytest.raises(ConfigError, match="train.stage1.stepz"):
        from_dict(Section, {"stepz": 3}, where="train.stage1")
    with pytest.raises(ConfigError, match="train.stage1.steps"):
        from_dict(Section, {"steps": "3"}, where="train.stage1")


def test_snakemake_rejects_bad_config_before_any_job(repo_root, venv_env, tmp_path):
    config = _demo(repo_root)
    config["grid"]["n"] = [1, -4]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        ["snakemake", "-n", "--configfile", str(bad)],
        cwd=repo_root, env=venv_env, capture_output=True, text=True,
    )
    assert proc.returncode != 0
    error_lines = [line for line in proc.stderr.splitlines() if "config error" in line]
    assert error_lines == [error_lines[0]] and "grid.n[1]" in error_lines[0]
    assert "rule" not in proc.stdout


def test_dry_run_plans_every_rule(repo_root, venv_env, tmp_path):
    proc = subprocess.run(
        ["snakemake", "-n", "-s", str(repo_root / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(repo_root / "config/tiny.yaml")],
        cwd=repo_root, env=venv_env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    for rule in ["synth_world", "augment_qa", "augment_docs", "build_mixture", "bootstrap_clip",
                 "train_stage1", "train_stage2", "train_stage3", "evaluate", "collect_scores",
                 "fit_scaling", "divergence", "cost_table", "report"]:
        assert rule in proc.stdout, rule
