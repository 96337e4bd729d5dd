"""Old import paths of the flat layout (release 0.1), kept for one release.

``import faceleak.viz_leakage`` or ``from faceleak import reproduce`` still work and give the
module at its new place, with a :class:`DeprecationWarning` that names it. The Colab labs
of a release pin that release, so only code written against 0.1 meets these; the course's
own labs, scripts and tests use the new paths (``tests/test_structure.py`` checks it).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: Old module -> its new place. Modules that were split in two name the package that
#: re-exports both halves (``faceleak.experiments``) or a module that does.
MOVED: dict[str, str] = {
    "compat": "vision.compat", "data": "vision.data", "detection": "vision.detection",
    "models": "vision.models", "train": "vision.train", "embed": "vision.embed",
    "metrics": "vision.metrics", "scoring": "vision.scoring",
    "pretrained": "vision.pretrained", "dlib_resnet": "vision.dlib_resnet",
    "_dlib_worker": "vision._dlib_worker",
    "probes": "privacy.probes", "gan": "privacy.gan", "attack_metrics": "privacy.attack_metrics",
    "defenses": "privacy.defenses",
    "reproduce": "experiments", "nuisance": "experiments.nuisance",
    "recognizers": "experiments.recognizers",
    "tos": "legal.tos", "risk": "legal.risk",
    "viz_leakage": "viz.leakage", "viz_inversion": "viz.inversion",
    "viz_defences": "viz.defences", "viz_nuisance": "viz.nuisance", "viz_risk": "viz.risk",
    "widgets_leakage": "widgets.leakage", "widgets_inversion": "widgets.inversion",
    "widgets_defences": "widgets.defences", "widgets_tos": "widgets.tos",
    "widgets_risk": "widgets.risk",
    "cli_reproduce": "cli.reproduce", "cli_inversion": "cli.inversion", "cli_tos": "cli.tos",
    "cli_weights": "cli.weights",
}
#: Old modules split between two new ones: attribute lookups try each in turn.
SPLIT: dict[str, tuple[str, ...]] = {
    "inversion": ("privacy.attacks", "experiments.inversion"),
}
_PREFIX = "faceleak."


def _warn(old: str, new: str) -> None:
    # stacklevel 3 is the importing code: 1 is this function, 2 the finder, and warnings
    # skips importlib's own frames when it counts.
    warnings.warn(f"faceleak.{old} moved to faceleak.{new} in faceleak 0.2; the old path "
                  "will be removed in 0.3", DeprecationWarning, stacklevel=3)


class _SplitModule(ModuleType):
    """Stands for an old module whose names now live in several modules."""

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        super().__init__(name)
        self._targets = targets

    def __getattr__(self, attr: str):
        for target in self._targets:
            module = importlib.import_module(_PREFIX + target)
            if hasattr(module, attr):
                return getattr(module, attr)
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r} "
                             f"(it now lives in {', '.join(_PREFIX + t for t in self._targets)})")


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        old = fullname.removeprefix(_PREFIX)
        if fullname.startswith(_PREFIX) and (old in MOVED or old in SPLIT):
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec):
        old = spec.name.removeprefix(_PREFIX)
        if old in SPLIT:
            _warn(old, " and faceleak.".join(SPLIT[old]))
            return _SplitModule(spec.name, SPLIT[old])
        _warn(old, MOVED[old])
        # The module itself, so that old and new names are one object (monkeypatching one
        # patches the other).
        return importlib.import_module(_PREFIX + MOVED[old])

    def exec_module(self, module):
        pass  # already executed under its new name


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
