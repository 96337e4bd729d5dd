"""Speed of the real recognizers on this machine: images per second at batch 32, and the
first-time FaceNet conversion.

    python scripts/benchmark_recognizers.py [--images 96] [--json PATH]

FaceNet (CASIA-WebFace) is timed under the settings tried for the course's goal of at least
25 images/s on two CPU cores: plain ``torch.no_grad``, ``torch.inference_mode`` (what
``faceleak.vision.embed.embed_faces`` uses), channels-last memory, and one vs all threads. dlib's
ResNet is timed in-process (one core) and with one worker process per core (what
``faceleak.vision.dlib_resnet`` does for batches of 8 or more). The conversion is timed into a
scratch ``TORCH_HOME``. Figures are printed; nothing is asserted (speed is not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1)


def time_facenet(images: np.ndarray, batch: int = 32) -> dict:
    from faceleak.vision import models

    model, spec = models.get_backbone("facenet-casia", device="cpu")
    out = {}
    threads = torch.get_num_threads()
    x_all = spec.prepare(images)

    def run(context, channels_last=False) -> float:
        start = time.perf_counter()
        with context():
            for s in range(0, len(x_all), batch):
                x = x_all[s:s + batch]
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                model(x)
        return time.perf_counter() - start

    run(torch.inference_mode)  # warm-up: first calls allocate
    out["no_grad"] = _rate(len(x_all), run(torch.no_grad))
    out["inference_mode"] = _rate(len(x_all), run(torch.inference_mode))
    model.to(memory_format=torch.channels_last)
    out["inference_mode + channels_last"] = _rate(len(x_all), run(torch.inference_mode, True))
    model.to(memory_format=torch.contiguous_format)
    torch.set_num_threads(1)
    out["inference_mode, 1 thread"] = _rate(len(x_all), run(torch.inference_mode))
    torch.set_num_threads(threads)
    out["threads"] = threads
    return out


def time_dlib(images: np.ndarray) -> dict:
    from faceleak.vision import dlib_resnet, models

    model, spec = models.get_backbone("dlib-resnet")
    x = spec.prepare(images)
    out = {}
    for workers in (1, os.cpu_count() or 1):
        os.environ[dlib_resnet.WORKERS_ENV] = str(workers)
        model(x[:8])  # start the pool (about a second) outside the timing
        start = time.perf_counter()
        for s in range(0, len(x), 32):
            model(x[s:s + 32])
        out[f"{workers} process(es)"] = _rate(len(x), time.perf_counter() - start)
    os.environ.pop(dlib_resnet.WORKERS_ENV, None)
    return out


def time_conversion() -> float:
    from faceleak.vision import pretrained

    with tempfile.TemporaryDirectory() as home:
        os.environ["TORCH_HOME"] = home
        start = time.perf_counter()
        pretrained.prepare_facenet_casia(log=None)
        seconds = time.perf_counter() - start
    os.environ.pop("TORCH_HOME")
    return round(seconds, 2)


def main(argv=None) -> int:
    from faceleak.experiments import recognizers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=96, help="photos to embed per setting")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    native, _ = recognizers.load_real_faces("quick")
    images = native.images[: args.images]
    result = {"photos": len(images), "size": list(images.shape[1:]),
              "data": native.source.kind, "cores": os.cpu_count(),
              "torch": torch.__version__,
              "conversion_seconds": time_conversion(),
              "facenet_casia_img_per_s": time_facenet(images),
              "dlib_resnet_img_per_s": time_dlib(images)}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
