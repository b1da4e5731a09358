import dataclasses
import subprocess
import typing
from dataclasses import dataclass, field

import pytest
import yaml

from vtscale.config import config_section, locate, profile_keys, validate
from vtscale.config_checks import SECTIONS, _section_classes, check_cross_fields, check_profile, load_profile
from vtscale.errors import ConfigError
from vtscale.grid import grid_settings

PROFILES = ["config/demo.yaml", "config/tiny.yaml", "config/paper.yaml"]


@pytest.mark.parametrize("path", PROFILES)
def test_shipped_configs_are_valid(repo_root, path):
    load_profile(repo_root / path, repo_root / "config/schema.yaml")


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
        (lambda c: c["train"]["stage1"].update(dense_weight=1.0), "train.stage1.dense_weight"),
        (lambda c: c["bootstrap"]["lm"].update(dense_weight=1.0), "bootstrap.lm.dense_weight"),
        (lambda c: c["bootstrap"].update(vit={}), "unknown key bootstrap.vit"),
        (lambda c: c["train"]["stage2"].update(samples="turns"), "train.stage2.samples='turns': expected one of"),
        (lambda c: c["train"]["stage3"].update(lr=0), "train.stage3.lr=0.0: must be positive"),
        (lambda c: c["train"]["stage1"].update(warmup=1.5), "train.stage1.warmup=1.5: must be between 0 and 1"),
        (lambda c: c["train"].update(precision="fp8"), "train.precision='fp8': expected one of"),
        (lambda c: c["bootstrap"]["clip"].update(crops=["whole", "whole"]), "bootstrap.clip.crops: ['whole', 'whole']"),
        (lambda c: c["bootstrap"]["lm"].update(contexts=[]), "bootstrap.lm.contexts: expected at least one of"),
        (lambda c: c["world"]["bench"].update(pope=0), "world.bench.pope=0: must be at least 1"),
        (lambda c: c["world"].update(turns=[0, 2]), "world.turns[0]=0: must be at least 1"),
        (lambda c: c["eval"].update(max_new_tokens={"vqa": 0}), "eval.max_new_tokens.vqa=0: must be at least 1"),
        (lambda c: c["analysis"].update(exclude={"MME": [1, "2"]}), "analysis.exclude.MME[1]: expected int"),
        (lambda c: c["theory"].update(llms={"lm": {"path": "x"}}), "unknown key theory.llms.lm.path"),
        (lambda c: c["cost"].update(image_seed=-1), "cost.image_seed=-1: must be at least 0"),
    ],
)
def test_bad_config_names_the_key(repo_root, mutate, key):
    config = _demo(repo_root)
    mutate(config)
    with pytest.raises(ConfigError) as err:
        check_profile(config, repo_root / "config/schema.yaml")
    message = str(err.value)
    assert key in message
    assert "\n" not in message


def test_schema_accepts_boolean_eval_strict_only(repo_root):
    config = _demo(repo_root)
    config["eval"]["strict"] = True
    check_profile(config, repo_root / "config/schema.yaml")
    config["eval"]["strict"] = "yes"
    with pytest.raises(ConfigError, match="eval.strict"):
        check_profile(config, repo_root / "config/schema.yaml")


def test_paper_profile_evaluates_strictly(repo_root):
    paper = load_profile(repo_root / "config/paper.yaml", repo_root / "config/schema.yaml")
    assert paper["eval"]["strict"] is True


def test_eval_strict_defaults_off_and_must_be_a_boolean():
    from vtscale.eval.config import EvalConfig

    assert config_section(EvalConfig, {"eval": {}}, "eval").strict is False
    assert config_section(EvalConfig, {"eval": {"strict": True}}, "eval").strict is True
    with pytest.raises(ConfigError, match="eval.strict: expected bool"):
        config_section(EvalConfig, {"eval": {"strict": 1}}, "eval")


def test_grid_settings_caps_m_at_n():
    assert grid_settings({"n": [1, 4, 16], "m_default": 8}) == [(1, 1), (4, 4), (16, 8)]


@dataclass
class Stage:
    steps: int = 1
    lr: float = 1e-3


@dataclass
class Section:
    stage: Stage = field(default_factory=Stage)
    spare: Stage | None = None
    named: dict[str, Stage] = field(default_factory=dict)


def test_config_section_finds_the_section_by_dotted_name():
    payload = {"train": {"stage1": {"steps": 3, "lr": 1}}, "seed": 0}
    assert config_section(Stage, payload, "train.stage1") == Stage(3, 1.0)
    assert config_section(Stage, payload, "train.stage2") == Stage()
    assert config_section(Stage, None, "train.stage1") == Stage()


def test_config_section_builds_nested_dataclasses():
    payload = {"s": {"stage": {"steps": 2}, "spare": None, "named": {"a": {"lr": 0.5}}}}
    assert config_section(Section, payload, "s") == Section(Stage(2), None, {"a": Stage(1, 0.5)})
    assert config_section(Section, {"s": {"spare": {"steps": 4}}}, "s").spare == Stage(4)


@pytest.mark.parametrize("section, key", [
    ({"stage": {"stepz": 3}}, "unknown key s.stage.stepz"),
    ({"stage": {"steps": "3"}}, "s.stage.steps: expected int"),
    ({"stage": {"steps": True}}, "s.stage.steps: expected int"),
    ({"named": {"a": {"lr": "x"}}}, "s.named.a.lr: expected float"),
    ({"named": {"a": 3}}, "s.named.a: expected a mapping"),
    ({"stage": 3}, "s.stage: expected a mapping"),
])
def test_config_section_names_the_bad_key(section, key):
    with pytest.raises(ConfigError, match=key) as err:
        config_section(Section, {"s": section}, "s")
    assert str(err.value).startswith("config error: ") and "\n" not in str(err.value)


@pytest.mark.parametrize("path", PROFILES)
def test_shipped_configs_pass_the_cross_field_rules(repo_root, path):
    check_cross_fields(yaml.safe_load((repo_root / path).read_text()))


@pytest.mark.parametrize(
    "profile, mutate, message",
    [
        ("demo", lambda c: c["grid"].update(n=[1, 64]),
         "config error: grid.n: 64 is more than model.fusion.max_tokens (32)"),
        ("paper", lambda c: c["grid"].update(n=[1, 1024]),
         "config error: grid.n: 1024 is more than model.fusion.max_tokens (768)"),
        ("demo", lambda c: c["grid"].update(n=[1, 2], m_default=8),
         "config error: grid.m_default: 8 is more than the largest grid.n (2)"),
        ("paper", lambda c: c["train"]["stage2"].update(n=8, m=16),
         "config error: train.stage2.m: 16 is more than its n (8)"),
        ("demo", lambda c: c["train"]["stage2"].update(m=64),
         "config error: train.stage2.m: 64 is more than its n (32)"),
        ("paper", lambda c: c["train"]["stage2"].update(n=1024),
         "config error: train.stage2.n: 1024 is more than model.fusion.max_tokens (768)"),
        ("demo", lambda c: c["train"]["stage1"].update(n=33),
         "config error: train.stage1.n: 33 is more than model.fusion.max_tokens (32)"),
        ("demo", lambda c: c["train"].pop("stage3"), "config error: train.stage3: missing"),
        ("demo", lambda c: c["train"]["stage2"].update(epochs=1),
         "config error: train.stage2: set exactly one of steps or epochs"),
        ("demo", lambda c: c["bootstrap"]["clip"].pop("steps"),
         "config error: bootstrap.clip: set exactly one of steps or epochs"),
        ("demo", lambda c: c.update(bootstrap=None), "config error: bootstrap.clip: missing"),
        ("demo", lambda c: c["eval"]["benchmarks"]["DemoMME"].pop("tsv"),
         "config error: eval.benchmarks.DemoMME.tsv is missing"),
        ("demo", lambda c: c["eval"]["benchmarks"]["DemoMME"].update(type="vqa"),
         "config error: eval.benchmarks.DemoMME.type: 'vqa' is not a known type"),
        ("demo", lambda c: c["eval"].update(variants=["question", "blind"]),
         "config error: eval.variants: 'blind' is not a known variant"),
        ("paper", lambda c: c["eval"].update(backend="vlmevalkit", num_processes=8),
         "config error: eval.num_processes: 8 processes need eval.backend builtin"),
        ("paper", lambda c: c["model"]["vision"].update(source="bootstrap"),
         "config error: model.vision.source: bootstrap backbones are trained by the demo and tiny profiles only"),
        ("demo", lambda c: c["model"]["vision"].update(heads=3),
         "config error: model.vision.heads: 3 does not divide model.vision.width (64)"),
        ("demo", lambda c: c["model"]["llm"].update(heads=3),
         "config error: model.llm.heads: 3 does not divide model.llm.hidden_size (128)"),
        ("demo", lambda c: c["model"]["vision"].update(patch_size=30),
         "config error: model.vision.view_size=224 is not a multiple of model.vision.patch_size=30"),
        ("demo", lambda c: c["world"].update(min_objects=7),
         "config error: world.min_objects exceeds world.max_objects"),
        ("paper", lambda c: c["datasets"]["svit"].pop("descriptions"),
         "config error: datasets.svit.descriptions"),
        ("tiny", lambda c: c["eval"]["benchmarks"]["DemoMME"].update(tsv="benchmarks/DemoMMe.tsv"),
         "config error: eval.benchmarks.DemoMME.tsv: benchmarks/DemoMMe.tsv is not a benchmark the "
         "demo world writes (benchmarks/DemoPOPE.tsv, benchmarks/DemoMME.tsv, "),
        ("demo", lambda c: c["eval"]["benchmarks"].update(MMBench={"tsv": "benchmarks/MMBench.tsv", "type": "mcq"}),
         "config error: eval.benchmarks.MMBench.tsv: benchmarks/MMBench.tsv is not a benchmark"),
    ],
)
def test_cross_field_rule_names_the_key(repo_root, profile, mutate, message):
    config = yaml.safe_load((repo_root / f"config/{profile}.yaml").read_text())
    mutate(config)
    validate(config, repo_root / "config/schema.yaml")      # the schema alone lets it through
    with pytest.raises(ConfigError) as err:
        check_cross_fields(config)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_load_checks_the_cross_field_rules(repo_root, tmp_path):
    config = _demo(repo_root)
    config["grid"]["n"] = [1, 64]
    path = tmp_path / "big_n.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="grid.n: 64"):
        load_profile(path, repo_root / "config/schema.yaml")


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


def dry_run(config: dict, repo_root, venv_env, tmp_path):
    """``snakemake -n`` on ``config`` (which must fail): the process and its config-error lines."""
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        ["snakemake", "-n", "-s", str(repo_root / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(path)],
        cwd=repo_root, env=venv_env, capture_output=True, text=True,
    )
    assert proc.returncode != 0
    return proc, [line for line in proc.stderr.splitlines() if "config error" in line]


def test_snakemake_stops_on_a_cross_field_rule_before_any_job(repo_root, venv_env, tmp_path):
    config = _demo(repo_root)
    config["grid"]["n"] = [1, 2, 64]
    proc, error_lines = dry_run(config, repo_root, venv_env, tmp_path)
    assert error_lines == ["config error: grid.n: 64 is more than model.fusion.max_tokens (32)"]
    assert "rule" not in proc.stdout and "Job stats" not in proc.stdout


def test_a_benchmark_path_the_world_does_not_write_stops_snakemake(repo_root, venv_env, tmp_path):
    """Else the mistyped TSV becomes an output of synth_world, which a real run then fails
    and Snakemake answers by deleting every generated file."""
    config = yaml.safe_load((repo_root / "config/tiny.yaml").read_text())
    config["eval"]["benchmarks"]["DemoPOPE"]["tsv"] = "benchmarks/DemoPOEP.tsv"
    proc, error_lines = dry_run(config, repo_root, venv_env, tmp_path)
    assert len(error_lines) == 1
    assert error_lines[0].startswith("config error: eval.benchmarks.DemoPOPE.tsv: benchmarks/DemoPOEP.tsv "
                                     "is not a benchmark the demo world writes")
    assert "synth_world" not in proc.stdout


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


def test_the_schema_leaves_each_section_to_its_dataclass(repo_root):
    schema = yaml.safe_load((repo_root / "config/schema.yaml").read_text())
    not_sections = {"profile", "seed", "data_dir", "results_dir", "dvc", "grid"}
    assert set(schema["properties"]) - not_sections == set(SECTIONS)


def _leaves(value, parts: tuple = ()):
    """(key parts, value) of every leaf under a profile's mapping."""
    if isinstance(value, dict) and value:
        for name, item in value.items():
            yield from _leaves(item, (*parts, name))
    else:
        yield parts, value


def _field(section, parts: tuple):
    """The value at key ``parts`` of a built section: fields, and entries of its dicts."""
    for part in parts:
        section = section[part] if isinstance(section, dict) else getattr(section, part)
    return section


def _plain(value):
    """A built value as a profile writes it."""
    if dataclasses.is_dataclass(value):
        return {name: _plain(getattr(value, name)) for name in profile_keys(type(value))}
    if isinstance(value, dict):
        return {name: _plain(item) for name, item in value.items()}
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize("path", PROFILES)
def test_every_key_a_profile_sets_reaches_its_field(repo_root, path):
    config = yaml.safe_load((repo_root / path).read_text())
    sections = _section_classes(config["profile"])
    for name, value in config.items():
        if name not in SECTIONS or value is None:
            continue
        assert name in sections, f"{path}: section {name} is never checked"
        built = config_section(sections[name], config, name)
        for parts, leaf in _leaves(value):
            assert _plain(_field(built, parts)) == leaf, ".".join((name, *parts))


def _field_keys(cls: type, prefix: str = ""):
    """Dotted keys of every field of dataclass ``cls`` a profile may set, nested dataclasses
    opened (a dict entry's name as ``*``)."""
    hints = typing.get_type_hints(cls)
    for name in profile_keys(cls):
        key, hint = prefix + name, hints[name]
        yield key
        if typing.get_origin(hint) is dict:
            key, hint = f"{key}.*", typing.get_args(hint)[1]
        nested = next((h for h in (hint, *typing.get_args(hint)) if dataclasses.is_dataclass(h)), None)
        if nested:
            yield from _field_keys(nested, f"{key}.")


def _set_keys(value, prefix: str = ""):
    """The same keys, of the fields a built value holds (None opens nothing)."""
    for name in profile_keys(type(value)):
        key, item = prefix + name, getattr(value, name)
        yield key
        if dataclasses.is_dataclass(item):
            yield from _set_keys(item, f"{key}.")
        elif isinstance(item, dict):
            for entry in item.values():
                if dataclasses.is_dataclass(entry):
                    yield from _set_keys(entry, f"{key}.*.")


def test_every_field_can_be_set_from_a_profile(repo_root):
    """Each shipped profile with every section written out in full (each field, defaults
    included) passes the start-up checks and builds the same dataclasses; together the
    profiles reach every field of every section."""
    reached: dict[str, set] = {name: set() for name in SECTIONS}
    for path in PROFILES:
        config = yaml.safe_load((repo_root / path).read_text())
        sections = _section_classes(config["profile"])
        built = {name: config_section(cls, config, name) for name, cls in sections.items()}
        full = {**config, **{name: _plain(section) for name, section in built.items()}}
        check_profile(full, repo_root / "config/schema.yaml")
        for name, cls in sections.items():
            assert config_section(cls, full, name) == built[name], f"{path}: {name}"
            reached[name] |= set(_set_keys(built[name]))
    for name, cls in SECTIONS.items():
        assert reached[name] == set(_field_keys(cls)), name


def test_keys_filled_in_from_elsewhere_are_not_profile_keys(repo_root):
    config = _demo(repo_root)
    for key in ("precision", "checkpoint_every", "seed"):
        config["train"]["stage2"][key] = locate(config, f"train.{key}") or 0
        with pytest.raises(ConfigError, match=f"unknown key train.stage2.{key}"):
            check_profile(config, repo_root / "config/schema.yaml")
        del config["train"]["stage2"][key]
