"""What the chapter experiments share: the subject split and the features of a backbone.

Every experiment draws its subject split with :func:`make_split`, embeds with a backbone
that never saw the held-out subjects (:func:`backbone_features`), compares with the same
architecture at random weights (:func:`untrained_features`) and returns plain JSON
(:func:`jsonable`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from faceleak import config
from faceleak.experiments.plan import RunPlan
from faceleak.vision import compat, data, embed, models, train


def make_split(faces: data.FaceSet, seed: int = 0,
               heldout_subjects: Sequence[str] | None = None) -> data.SubjectSplit:
    """The subject split of an experiment: drawn with ``seed`` unless a list is given."""
    # The same in both modes (config.settings), so a split never depends on the plan.
    n_heldout = config.settings("quick").n_heldout_subjects
    return data.split_subjects(faces.subjects, n_heldout=n_heldout, seed=seed,
                               heldout=list(heldout_subjects) if heldout_subjects else None)


def backbone_features(faces: data.FaceSet, split: data.SubjectSplit, backbone: str,
                      plan: RunPlan, seed: int = 0,
                      progress: bool = False) -> np.ndarray:
    """Embeddings of all faces by a backbone that never saw the split's held-out subjects.

    The course's own backbone is trained (or loaded from the cache) on ``split.train``;
    pretrained FaceNet never saw Extended Yale B at all.
    """
    model, spec = split_backbone(backbone, split, plan)
    key = embed.cache_key_for(backbone, model, faces, plan.mode)
    return embed.embed_faces(model, spec, faces, cache_key=key, progress=progress)


def split_backbone(backbone: str, split: data.SubjectSplit, plan: RunPlan):
    """The backbone and its input spec, trained on exactly ``split``'s complement.

    For a course backbone the held-out list is passed explicitly (not the seed), so it can
    never have seen a held-out subject, whatever subset of faces the split was drawn from;
    for the full set the cache key is the same as for the seeded split.
    """
    heldout = ({"heldout_subjects": list(split.heldout)}
               if models.BACKBONES[backbone].kind == "yale" else {})
    return models.get_backbone(backbone, plan.backbones, seed=plan.seeds.backbone,
                               device=plan.device, **heldout)


def untrained_features(faces: data.FaceSet, plan: RunPlan, seed: int = 0,
                       variant: str = "yale-cosface") -> np.ndarray | None:
    """Embeddings from the same architecture with random weights: what structure alone gives.

    ``variant`` picks the backbone whose architecture (and input preprocessing) is copied:
    a course network, or FaceNet's Inception-ResNet-v1 (cached, since it costs as much as
    the real one). dlib's network cannot be re-initialised from Python: None.
    """
    kind = models.BACKBONES[variant].kind
    if kind == "dlib":
        return None
    config.seed_everything(seed)
    if kind == "facenet":
        compat.ensure_facenet_importable()
        from facenet_pytorch import InceptionResnetV1

        model = InceptionResnetV1(pretrained=None, classify=False).eval()
        key = f"untrained-facenet-s{seed}-w{embed.weights_hash(model)}-d{embed.data_key(faces)}"
        # Channels-last, as the pretrained FaceNet is embedded (about 25% faster on a CPU).
        return embed.embed_faces(model, models.FACENET_SPEC, faces, batch_size=32,
                                 cache_key=key, progress=False, channels_last=True)
    cfg = plan.train_config(variant)
    model = train.YaleFaceNet(cfg).eval()
    with torch.no_grad():
        return embed.embed_faces(model, models.yale_spec(model), faces, progress=False)



def jsonable(value):
    """``value`` with numpy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


class PhaseTimer:
    """Seconds spent in each phase of a run: ``with timer("decoder_s"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextlib.contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = time.perf_counter() - start

    def summary(self) -> dict[str, float]:
        """Every phase, and ``total_s`` since the timer was made, rounded to 0.1 s."""
        return {k: round(v, 1) for k, v in
                {**self.seconds, "total_s": time.perf_counter() - self._start}.items()}
