"""The chapter experiments, each a function that the lab, the CLI and the book share.

=====================  ===========================================  ==========================
Module                 Entry point                                   Chapter and lab
=====================  ===========================================  ==========================
``recognizers``        :func:`verification_comparison`               1: three recognizers
``leakage``            :func:`reproduce_leakage`                     2: what the embedding keeps
``nuisance``           :func:`run_nuisance_dial`                     2: the nuisance dial
``inversion``          :func:`run_inversion`, ``reproduce_inversion``  3: inversion
``real_inversion``     :func:`run_real_inversion`                    3: real recognizers
``defences``           :func:`reproduce_defences`                    4: defences
``real_defences``      :func:`reproduce_real_defences`               4: on a real recognizer
=====================  ===========================================  ==========================

``plan`` holds the run plan (:func:`resolve_plan`: every size of a run, resolved once);
``common`` holds what they share (the subject split, a backbone's features). This package
re-exports the public names of all of them, so ``from faceleak import experiments`` is the
one import a lab needs; code inside the package imports the submodule it uses.
"""

from __future__ import annotations

from types import ModuleType

from faceleak.experiments import (
    common,
    defences,
    inversion,
    leakage,
    nuisance,
    plan,
    real_defences,
    real_inversion,
    recognizers,
)

__all__: list[str] = []
for _module in (plan, common, leakage, defences, inversion, nuisance, recognizers,
                real_inversion, real_defences):
    for _name, _value in vars(_module).copy().items():
        # What the module defines (functions, classes, constants), not what it imports.
        if (_name.startswith("_") or isinstance(_value, ModuleType)
                or getattr(_value, "__module__", _module.__name__) != _module.__name__):
            continue
        if _name in globals() and globals()[_name] is not _value:
            raise ImportError(f"faceleak.experiments: two experiments define {_name!r}")
        globals()[_name] = _value
        __all__.append(_name)
del _module, _name, _value
