"""One run plan: every size, epoch count and seed of a run, resolved once.

A lab's setup cell and the command line call :func:`resolve_plan` once; the frozen
:class:`RunPlan` it returns is passed down to every experiment, which hands each layer the
part it needs (a :class:`~faceleak.vision.train.BackboneRecipes`, a
:class:`~faceleak.privacy.gan.GanConfig`, an :class:`~faceleak.privacy.attacks.InversionConfig`,
...). Nothing below re-reads ``FACELEAK_MODE`` or ``FACELEAK_DEVICE``: a run cannot mix
sizes of two modes, and a test builds a small plan (``plan.with_(inversion={...})``) instead
of patching module globals.

The quick and full sizes of every experiment are side by side in :data:`TABLE`.

Why here, in ``experiments``: the plan holds the config classes of ``vision`` and
``privacy``, so it must sit above them; the lower layers take those config objects and never
see this module (``tests/test_structure.py``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from faceleak import config
from faceleak.privacy.attacks import InversionConfig
from faceleak.privacy.gan import GanConfig
from faceleak.vision import models
from faceleak.vision.train import BackboneRecipes, TrainConfig

# --------------------------------------------------------------------------- sub-settings


@dataclass(frozen=True)
class ProbeSettings:
    """Chapter 2's probes: permutation-test shuffles, probe kinds, pixel-baseline size.

    Quick mode skips nothing; it only uses fewer shuffles.
    """

    n_permutations: int
    kinds: tuple[str, ...] = ("linear", "mlp")
    pixel_components: int = 64

    def __post_init__(self) -> None:
        if self.n_permutations < 0:
            raise ValueError(f"n_permutations must be >= 0, got {self.n_permutations}")
        if not self.kinds or set(self.kinds) - {"linear", "mlp"}:
            raise ValueError(f"kinds must be a non-empty subset of ('linear', 'mlp'), "
                             f"got {self.kinds}")


@dataclass(frozen=True)
class RealFacesPlan:
    """Which photos the real recognizers embed in a run mode.

    Attributes
    ----------
    mode
        ``quick`` or ``full``.
    lights_per_subject
        Light directions kept for every subject (None: all of them).
    """

    mode: str
    lights_per_subject: int | None

    def describe(self) -> str:
        if self.lights_per_subject is None:
            return f"{self.mode} mode: every photo"
        return (f"{self.mode} mode: {self.lights_per_subject} of the 64 light directions for "
                "every subject (evenly spaced by azimuth, then elevation)")


@dataclass(frozen=True)
class NuisanceSettings:
    """Sizes of Chapter 2's nuisance dial (see :class:`faceleak.experiments.nuisance.DialPlan`)."""

    n_base: int
    n_copies: int
    n_splits: int
    n_permutations: int


@dataclass(frozen=True)
class DefenceSettings:
    """Chapter 4's sweep (defence name -> strengths) and its utility budget.

    ``eer_budget`` is the largest EER loss an operating point may cost over no defence;
    ``gan_targets`` the held-out photos the GAN attack rebuilds at each operating point.
    """

    sweep: tuple[tuple[str, tuple[float, ...]], ...]
    eer_budget: float = 0.02
    #: Held-out photos (evenly spaced) that Chapter 3's GAN attack rebuilds through each
    #: operating point: the attack is the slowest part of the chapter's run.
    gan_targets: int = 40

    def __post_init__(self) -> None:
        if not 0 < self.eer_budget < 1:
            raise ValueError(f"eer_budget must be in (0, 1), got {self.eer_budget}")
        if self.gan_targets < 1:
            raise ValueError(f"gan_targets must be at least 1, got {self.gan_targets}")

    def sweep_dict(self) -> dict[str, tuple[float, ...]]:
        """The sweep as ``{defence: strengths}``, in the sweep's order."""
        return dict(self.sweep)


#: The judges' photo sets of the real-recognizer inversion (``RealInversionSettings``).
JUDGE_LIGHTS = ("moderate", "all")


@dataclass(frozen=True)
class RealInversionSettings:
    """Every size of the experiment, one frozen object per run mode.

    Attributes
    ----------
    targets_per_subject
        Photos attacked per held-out subject: the most frontally lit ones.
    max_attacked_subjects
        Attack at most this many held-out subjects (None: all of them); every held-out
        subject still sets the thresholds and provides the other photos of type II.
    decoder_width, decoder_steps, decoder_lr, decoder_batch
        The black-box decoder (pixel loss only: dlib has no gradient).
    decoder_flips
        Add the mirrored training photos (their dlib embeddings cost one query each; off in
        quick mode, where those 336 queries alone would take about a minute on 2 cores).
    es_generations, es_population, es_sigma, es_lr
        The evolution strategy against dlib; queries = targets x (1 + generations x
        population). Its search point is the decoder's input, a unit-length 128-d
        embedding whose components are about 0.09: ``es_sigma = 0.03`` perturbs it by about a
        third of its length, and a generation's step (``es_lr / sigma`` times the rank-weighted
        mean perturbation) moves it by about a tenth; larger values leave the decoder's
        training distribution and render noise.
    gradient_steps, gradient_lr, gradient_tv
        White-box pixel attack on FaceNet.
    gan_candidates, gan_steps, gan_lr, gan_prior
        GAN-prior attack on FaceNet: random latents scored, then gradient refinement.
    mapper_samples, mapper_steps
        The ID2image recipe at the course's scale: faces drawn from the course's GAN, their
        embeddings by the attacked recognizer (queries, for dlib), and an MLP fitted from
        embedding to latent on them. Its latent for a leaked template starts the refinement
        (``gan_mapped`` on FaceNet by gradients, ``gan_es`` on dlib by queries).
    latent_es_generations, latent_es_population, latent_es_sigma, latent_es_lr
        The evolution strategy in the GAN's latent space against dlib (``gan_es``); latents
        are N(0, I), so ``sigma`` is in those units. Both evolution strategies get the same
        query budget, so that the two search spaces compare fairly.
    judge_light
        Which held-out photos the judges enrol, draw their impostor pairs from and match
        against in type II: ``"moderate"`` (light at most 60 degrees off-axis, Lab 1's
        moderate group, the conditions of the literature's benchmarks) or ``"all"``. Under
        all of Yale B's light, dark photos of different people embed alike, so every real
        recognizer's threshold at FAR 1e-3 climbs so high that even a real second photo of
        the person is rarely accepted: the ceiling, not the attack, would set the result.
    """

    targets_per_subject: int = 1
    max_attacked_subjects: int | None = 6
    decoder_width: int = 64
    decoder_steps: int = 400
    decoder_lr: float = 2e-3
    decoder_batch: int = 64
    decoder_flips: bool = False
    es_generations: int = 60
    es_population: int = 8
    es_sigma: float = 0.03
    es_lr: float = 0.005
    gradient_steps: int = 200
    gradient_lr: float = 0.05
    gradient_tv: float = 0.02
    gan_candidates: int = 128
    gan_steps: int = 200
    gan_lr: float = 0.05
    gan_prior: float = 0.1
    mapper_samples: int = 512
    mapper_steps: int = 600
    latent_es_generations: int = 60
    latent_es_population: int = 8
    latent_es_sigma: float = 0.3
    latent_es_lr: float = 0.3
    judge_light: str = "moderate"

    def __post_init__(self) -> None:
        if self.judge_light not in JUDGE_LIGHTS:
            raise ValueError(f"judge_light must be one of {JUDGE_LIGHTS}, got "
                             f"{self.judge_light!r}")

    def to_dict(self) -> dict:
        """The settings as a JSON-ready dict."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


@dataclass(frozen=True)
class RealDefenceSettings:
    """Chapter 4's defences on a real recognizer's templates (Lab 4's last section).

    Attributes
    ----------
    sweep, eer_budget
        Defence name -> strengths, and the largest EER loss an operating point may cost, as
        in :class:`DefenceSettings`. The strengths suit 512-d FaceNet templates: BioHash
        bits and PCA dimensions up to a quarter of them.
    max_attacked_subjects, targets_per_subject
        The adaptive attack's targets: the most frontally lit photos of the first held-out
        subjects (None: every held-out subject).
    gan_candidates, gan_steps, gan_lr, gan_prior
        The white-box GAN-prior attack through the defence (as in
        :class:`RealInversionSettings`): random latents scored, then gradient refinement.
    attack_points
        Where the adaptive attack runs besides no defence: ``"best"`` (the least leaky
        operating point within the budget; about ten seconds an attack on 2 cores in quick
        mode) or ``"all"`` (every operating point within the budget).
    probe_kinds
        The light probes of the leakage axis (each costs about as much as the rest of a
        sweep row; the full mode adds the nonlinear one).
    light
        Which photos the experiment uses: ``"moderate"`` (light at most 60 degrees
        off-axis, as the judges of :class:`RealInversionSettings`: under Yale B's extreme
        light the real recognizers barely verify at all) or ``"all"``.
    """

    sweep: tuple[tuple[str, tuple[float, ...]], ...]
    eer_budget: float = 0.02
    max_attacked_subjects: int | None = 3
    targets_per_subject: int = 1
    gan_candidates: int = 48
    gan_steps: int = 15
    gan_lr: float = 0.05
    gan_prior: float = 0.1
    attack_points: str = "best"
    probe_kinds: tuple[str, ...] = ("linear",)
    light: str = "moderate"

    def __post_init__(self) -> None:
        if not 0 < self.eer_budget < 1:
            raise ValueError(f"eer_budget must be in (0, 1), got {self.eer_budget}")
        if self.light not in JUDGE_LIGHTS:
            raise ValueError(f"light must be one of {JUDGE_LIGHTS}, got {self.light!r}")
        if self.attack_points not in ("best", "all"):
            raise ValueError(f"attack_points must be 'best' or 'all', got "
                             f"{self.attack_points!r}")
        if not self.probe_kinds or set(self.probe_kinds) - {"linear", "mlp"}:
            raise ValueError(f"probe_kinds must be a non-empty subset of ('linear', 'mlp'), "
                             f"got {self.probe_kinds}")

    def sweep_dict(self) -> dict[str, tuple[float, ...]]:
        """The sweep as ``{defence: strengths}``, in the sweep's order."""
        return dict(self.sweep)


@dataclass(frozen=True)
class Seeds:
    """Training seeds of the models every experiment shares (the split seed is per call)."""

    backbone: int = 0
    gan: int = 0
    type2: int = 1


# --------------------------------------------------------------------------- the table

_SINGLE_QUICK = TrainConfig()
_SINGLE_FULL = TrainConfig(widths=(48, 96, 192, 384), blocks=(2, 2, 2, 2), epochs=60)
_SWEEP = (("nuisance", (1, 2, 4, 8, 16)), ("biohash", (64, 32, 16, 8)),
          ("noise", (0.25, 0.5, 1.0, 2.0, 4.0)), ("pca", (48, 32, 16, 8, 4)),
          ("pca-q4", (32, 16, 8)), ("scale", (3.0,)))
# The same families for 512-d real-recognizer templates (FaceNet): more bits and dimensions.
# Quick mode keeps one or two strengths of each (a sweep row costs seconds: the light probe's
# cross-validation on 512 dimensions); the scale control is Lab 4's first sweep's job.
_REAL_SWEEP_QUICK = (("nuisance", (2, 8)), ("biohash", (256,)), ("noise", (0.5, 2.0)),
                     ("pca", (128, 32)), ("pca-q4", (64,)))
_REAL_SWEEP_FULL = (("nuisance", (1, 2, 4, 8, 16)), ("biohash", (256, 128, 64, 32)),
                    ("noise", (0.25, 0.5, 1.0, 2.0, 4.0)), ("pca", (128, 64, 32, 16, 8)),
                    ("pca-q4", (64, 32, 16)), ("scale", (3.0,)))

#: Every size of both modes, side by side. Quick mode runs every lab in minutes on a 2-core
#: CPU; full mode is meant for a GPU. The recipes' search is recorded in
#: :mod:`faceleak.vision.train`; the quick backbone is an ensemble of two narrower networks.
TABLE: dict[str, dict[str, Any]] = {
    "quick": {
        "recipes": {"ensemble": replace(_SINGLE_QUICK, widths=(16, 32, 64, 128), members=2,
                                        light_mix=0.5),
                    "single": _SINGLE_QUICK},
        "gan": GanConfig(),
        "inversion": InversionConfig(),
        "probes": ProbeSettings(n_permutations=1999),
        "real_faces": {"lights_per_subject": 12},
        "nuisance": NuisanceSettings(n_base=1, n_copies=2, n_splits=5, n_permutations=999),
        # 20 GAN targets: about a minute of the lab on 2 cores instead of two.
        "defences": DefenceSettings(sweep=_SWEEP, eer_budget=0.02, gan_targets=20),
        # 6 of the 10 held-out people, one photo each: sized for minutes on 2 cores.
        "real_inversion": RealInversionSettings(),
        # 3 held-out people, one photo each, 15 steps: Lab 4's FaceNet section in about a
        # minute on 2 cores (with the embeddings cached by Lab 1).
        "real_defences": RealDefenceSettings(sweep=_REAL_SWEEP_QUICK),
    },
    "full": {
        "recipes": {"ensemble": replace(_SINGLE_FULL, widths=(32, 64, 128, 256), members=2,
                                        light_mix=0.5),
                    "single": _SINGLE_FULL},
        "gan": GanConfig(z_dim=128, g_width=256, d_width=64, steps=20000, batch_size=64),
        "inversion": InversionConfig(
            target_lights=((0, 0), (-35, 15), (50, 0), (-70, 0), (20, -40), (0, 45),
                           (85, 20), (-60, -20)),
            n_gan_samples=20000, decoder_width=192, decoder_steps=4000, decoder_id_steps=1500,
            mapping_steps=5000, gradient_steps=400, gan_steps=400, type2_epochs=40),
        "probes": ProbeSettings(n_permutations=9999),
        "real_faces": {"lights_per_subject": None},
        "nuisance": NuisanceSettings(n_base=8, n_copies=2, n_splits=10, n_permutations=9999),
        "defences": DefenceSettings(sweep=_SWEEP, eer_budget=0.02, gan_targets=40),
        # Every held-out person, four photos each (the GPU setting), same code.
        "real_inversion": RealInversionSettings(
            targets_per_subject=4, max_attacked_subjects=None, decoder_flips=True,
            decoder_width=192, decoder_steps=4000, es_generations=120, es_population=16,
            gradient_steps=300, gan_candidates=2048, gan_steps=300, mapper_samples=4096,
            mapper_steps=3000, latent_es_generations=120, latent_es_population=16),
        "real_defences": RealDefenceSettings(
            sweep=_REAL_SWEEP_FULL, max_attacked_subjects=None, targets_per_subject=4,
            gan_candidates=2048, gan_steps=300, attack_points="all",
            probe_kinds=("linear", "mlp")),
    },
}


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class RunPlan:
    """Everything a run's sizes depend on, resolved once (:func:`resolve_plan`).

    Attributes
    ----------
    mode, device
        The run mode (``quick`` or ``full``) and the torch device.
    image_size, n_heldout_subjects
        The course's crop size and the held-out subjects of every split.
    seeds
        Training seeds of the shared models (backbone, GAN, type II judge).
    backbones, gan, inversion, probes, real_faces, nuisance, defences, real_inversion,
    real_defences
        One frozen settings object per experiment (see :data:`TABLE`).
    """

    mode: str
    device: str
    image_size: tuple[int, int]
    n_heldout_subjects: int
    backbones: BackboneRecipes
    gan: GanConfig
    inversion: InversionConfig
    probes: ProbeSettings
    real_faces: RealFacesPlan
    nuisance: NuisanceSettings
    defences: DefenceSettings
    real_inversion: RealInversionSettings
    real_defences: RealDefenceSettings
    seeds: Seeds = field(default_factory=Seeds)

    def describe(self) -> str:
        """One line for a lab's header: mode, device and the sizes that cost the most time."""
        lights = self.real_faces.lights_per_subject or 64
        return (f"run plan: {self.mode} mode on {self.device}; backbone "
                f"{self.backbones.ensemble.epochs} epochs, GAN {self.gan.steps} steps, "
                f"decoder {self.inversion.decoder_steps}+{self.inversion.decoder_id_steps} "
                f"steps, {self.probes.n_permutations} permutations, real faces {lights} "
                f"lights per subject")

    def with_(self, **changes: Any) -> RunPlan:
        """A copy with some settings replaced, e.g. a small plan for a test.

        A value is either an object of the field's type or, for a settings object, a dict
        of the fields to replace in it: ``plan.with_(inversion={"decoder_steps": 5})``.
        ``mode`` cannot change (resolve another plan instead).

        Raises
        ------
        ValueError
            Unknown field, ``mode``, a value of the wrong type or an unknown sub-field.
        """
        names = [f.name for f in dataclasses.fields(self)]
        resolved = {}
        for name, value in changes.items():
            if name not in names:
                raise ValueError(f"RunPlan has no setting {name!r}; settings: {', '.join(names)}")
            if name == "mode":
                raise ValueError("a plan's mode cannot change: call resolve_plan(mode=...) "
                                 "for a plan of another mode")
            current = getattr(self, name)
            if isinstance(value, Mapping) and dataclasses.is_dataclass(current):
                value = _replace_fields(current, name, value)
            elif not isinstance(value, type(current)):
                raise ValueError(f"RunPlan.{name} must be a {type(current).__name__}, got "
                                 f"{type(value).__name__}")
            resolved[name] = value
        return replace(self, **resolved)

    def train_config(self, variant: str = "yale-cosface", **overrides) -> TrainConfig:
        """The :class:`TrainConfig` of one of the course's backbones in this plan."""
        return self.backbones.config(**models.YALE_VARIANTS[variant], **overrides)


def _replace_fields(current: Any, name: str, values: Mapping[str, Any]) -> Any:
    known = {f.name for f in dataclasses.fields(current)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"RunPlan.{name} has no field(s) {unknown}; fields: "
                         f"{', '.join(sorted(known))}")
    return replace(current, **values)


def resolve_plan(mode: str | None = None, device: str | None = None,
                 **overrides: Any) -> RunPlan:
    """The run plan: the one place where the mode and the device are resolved.

    Parameters
    ----------
    mode
        ``quick`` or ``full``; by default ``FACELEAK_MODE``, else ``quick``
        (:func:`faceleak.config.run_mode`).
    device
        Torch device; by default ``FACELEAK_DEVICE``, else ``cuda`` when available
        (:func:`faceleak.config.device`).
    **overrides
        Settings to replace, as in :meth:`RunPlan.with_`.

    Raises
    ------
    faceleak.config.ConfigError
        Unknown mode or device (the message says what to set).
    ValueError
        An override :meth:`RunPlan.with_` rejects.
    """
    resolved = config.run_mode(mode)
    row = TABLE[resolved]
    sets = config.settings(resolved)
    plan = RunPlan(
        mode=resolved, device=config.device(device), image_size=tuple(sets.image_size),
        n_heldout_subjects=sets.n_heldout_subjects,
        backbones=BackboneRecipes(mode=resolved, **row["recipes"]),
        gan=row["gan"], inversion=row["inversion"], probes=row["probes"],
        real_faces=RealFacesPlan(mode=resolved, **row["real_faces"]),
        nuisance=row["nuisance"], defences=row["defences"],
        real_inversion=row["real_inversion"], real_defences=row["real_defences"])
    return plan.with_(**overrides) if overrides else plan


def as_plan(plan: RunPlan | None = None, mode: str | None = None) -> RunPlan:
    """The plan an entry point runs with: ``plan`` if given, else one resolved from ``mode``.

    This keeps the entry points' old ``mode=`` keyword working: the plan is still resolved
    once, at the entry point, and passed down.
    """
    if plan is None:
        return resolve_plan(mode)
    if not isinstance(plan, RunPlan):
        raise TypeError(f"plan must be a RunPlan (experiments.resolve_plan()), got "
                        f"{type(plan).__name__}")
    if mode is not None and mode.strip().lower() != plan.mode:
        raise ValueError(f"mode={mode!r} contradicts the plan's mode {plan.mode!r}: pass one")
    return plan
