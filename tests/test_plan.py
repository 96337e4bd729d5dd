"""The run plan: resolved once, frozen, passed down; small plans for tests."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from faceleak import config, experiments
from faceleak.experiments import nuisance
from faceleak.experiments.plan import TABLE, RunPlan, as_plan, resolve_plan

SRC = Path(__file__).resolve().parents[1] / "src" / "faceleak"


def test_the_plan_is_frozen_all_the_way_down():
    plan = resolve_plan("quick", device="cpu")
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.mode = "full"  # type: ignore[misc]
    for part in (plan.backbones, plan.gan, plan.inversion, plan.probes, plan.real_faces,
                 plan.nuisance, plan.defences, plan.seeds):
        field = dataclasses.fields(part)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(part, field, None)


def test_quick_and_full_differ_where_they_should():
    quick, full = resolve_plan("quick", "cpu"), resolve_plan("full", "cpu")
    assert (quick.mode, full.mode) == ("quick", "full")
    for name in ("backbones", "gan", "inversion", "probes", "real_faces", "nuisance"):
        assert getattr(quick, name) != getattr(full, name), name
    # The crops, the split and Chapter 4's sweep and budget are the same in both modes; only
    # the number of photos the GAN attack rebuilds at each operating point differs.
    assert quick.image_size == full.image_size
    assert (quick.defences.sweep, quick.defences.eer_budget) == (full.defences.sweep,
                                                                 full.defences.eer_budget)
    assert quick.defences.gan_targets < full.defences.gan_targets
    assert quick.n_heldout_subjects == full.n_heldout_subjects == 10
    assert quick.backbones.mode == "quick" and full.real_faces.mode == "full"
    assert set(TABLE["quick"]) == set(TABLE["full"])


def test_mode_and_device_come_from_the_environment_once(monkeypatch):
    monkeypatch.setenv(config.MODE_ENV, "full")
    monkeypatch.setenv(config.DEVICE_ENV, "cpu")
    plan = resolve_plan()
    assert (plan.mode, plan.device) == ("full", "cpu")
    assert "full mode on cpu" in plan.describe()
    assert str(plan.gan.steps) in plan.describe()


def test_unknown_mode_or_device_says_what_to_do(monkeypatch):
    with pytest.raises(config.ConfigError, match="quick, full"):
        resolve_plan("fast")
    monkeypatch.setenv(config.MODE_ENV, "slow")
    with pytest.raises(config.ConfigError, match=config.MODE_ENV):
        resolve_plan()
    with pytest.raises(config.ConfigError, match="cpu"):
        resolve_plan("quick", device="tpu")


def test_overrides_make_a_small_plan_and_are_checked():
    plan = resolve_plan("quick", "cpu")
    small = plan.with_(inversion={"decoder_steps": 5}, probes={"n_permutations": 9})
    assert small.inversion.decoder_steps == 5 and small.probes.n_permutations == 9
    assert small.inversion.gan_steps == plan.inversion.gan_steps
    assert plan.inversion.decoder_steps != 5  # the original plan is untouched
    assert plan.with_(gan=dataclasses.replace(plan.gan, steps=3)).gan.steps == 3
    assert resolve_plan("quick", "cpu", probes={"n_permutations": 9}) == plan.with_(
        probes={"n_permutations": 9})
    with pytest.raises(ValueError, match="no setting 'epochs'.*backbones"):
        plan.with_(epochs=1)
    with pytest.raises(ValueError, match="resolve_plan"):
        plan.with_(mode="full")
    with pytest.raises(ValueError, match="must be a GanConfig"):
        plan.with_(gan=plan.inversion)
    with pytest.raises(ValueError, match=r"no field\(s\) \['decoder_stepz'\]"):
        plan.with_(inversion={"decoder_stepz": 5})
    with pytest.raises(ValueError, match="n_permutations"):
        plan.with_(probes={"n_permutations": -1})


def test_an_entry_point_takes_a_plan_or_resolves_one_from_its_mode():
    plan = resolve_plan("quick", "cpu")
    assert as_plan(plan) is plan and as_plan(plan, "quick") is plan
    assert as_plan(None, "full").mode == "full"
    with pytest.raises(ValueError, match="contradicts"):
        as_plan(plan, "full")
    with pytest.raises(TypeError, match="RunPlan"):
        as_plan("quick")  # type: ignore[arg-type]
    assert isinstance(experiments.resolve_plan(), RunPlan)


def test_lower_layers_want_the_plan_s_settings_not_a_mode():
    from faceleak.vision import embed, models

    with pytest.raises(ValueError, match="resolve_plan"):
        models.yale_training_plan("quick")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="resolve_plan"):
        embed.embeddings_for("yale-cosface", None, "quick")  # type: ignore[arg-type]


def test_only_the_plan_resolves_the_mode():
    """No module below an entry point reads the mode or the device again.

    ``config`` defines them, ``plan.py`` resolves them, and ``describe_run`` falls back to
    them for the labs that have no plan (setup, ToS, risk). Lower layers may default a
    device argument, but no experiment leaves it to them.
    """
    allowed_mode = {"config.py", "experiments/plan.py", "__init__.py"}
    callers = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
               if re.search(r"\brun_mode\(", p.read_text())}
    assert callers <= allowed_mode and "experiments/plan.py" in callers
    for path in (SRC / "experiments").glob("*.py"):
        if path.name != "plan.py":
            assert "config.device(" not in path.read_text(), path.name


def test_a_run_resolves_the_mode_and_the_device_once(monkeypatch):
    """The dial, end to end on the course's real (packaged) backbone, counts resolutions."""
    from faceleak.vision import data

    calls = {"run_mode": 0, "device": 0}
    real_mode, real_device = config.run_mode, config.device

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(config, "run_mode", counted("run_mode", real_mode))
    monkeypatch.setattr(config, "device", counted("device", real_device))
    faces = data.load_faces(source=data.locate_data(prefer="compact"))
    faces = faces.subset(faces.subjects != faces.subjects[0])
    dial = nuisance.dial_plan(resolve_plan("quick"), factors=("rotation",), n_splits=2,
                              n_heldout=3, n_permutations=0, kinds=("linear",),
                              pixel_components=8)
    calls.update(run_mode=0, device=0)
    result = nuisance.run_nuisance_dial(["yale-cosface"], mode="quick", faces=faces, dial=dial)
    assert result["mode"] == "quick" and result["rows"]
    assert calls == {"run_mode": 1, "device": 1}
