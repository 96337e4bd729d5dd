import numpy as np
import pytest
import torch
from PIL import Image

from faceleak.vision import compat


def reference_nms(boxes, scores, threshold):
    """Brute-force NMS written independently: plain Python floats, no tensor tricks."""
    b = boxes.tolist()
    s = scores.tolist()
    order = sorted(range(len(b)), key=lambda i: -s[i])
    kept = []

    def iou(p, q):
        ix = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
        iy = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        inter = ix * iy
        union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
        return inter / union if union > 0 else 0.0

    for i in order:
        if all(iou(b[i], b[k]) <= threshold for k in kept):
            kept.append(i)
    return kept


def random_boxes(rng, n):
    xy = rng.uniform(0, 100, (n, 2))
    wh = rng.uniform(1, 40, (n, 2))
    return torch.tensor(np.hstack([xy, xy + wh]), dtype=torch.float32)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_matches_brute_force(seed, threshold):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 60)
    scores = torch.tensor(rng.permutation(60) / 60.0, dtype=torch.float32)  # distinct scores
    kept = compat.nms(boxes, scores, threshold).tolist()
    assert kept == reference_nms(boxes, scores, threshold)


@pytest.mark.parametrize("seed", range(5))
def test_batched_nms_is_nms_per_category(seed):
    rng = np.random.default_rng(100 + seed)
    boxes = random_boxes(rng, 50)
    scores = torch.tensor(rng.permutation(50) / 50.0, dtype=torch.float32)
    idxs = torch.tensor(rng.integers(0, 3, 50))
    got = set(compat.batched_nms(boxes, scores, idxs, 0.5).tolist())
    expected = set()
    for c in range(3):
        members = torch.nonzero(idxs == c).flatten()
        expected |= {int(members[k]) for k in reference_nms(boxes[members], scores[members], 0.5)}
    assert got == expected


def test_nms_empty_and_identical_boxes():
    assert compat.nms(torch.zeros(0, 4), torch.zeros(0), 0.5).numel() == 0
    box = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 3)
    assert compat.nms(box, torch.tensor([0.1, 0.9, 0.5]), 0.5).tolist() == [1]


def test_to_tensor_follows_torchvision_semantics():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    t = compat.to_tensor(rgb)
    assert t.shape == (3, 2, 3) and t.dtype == torch.float32
    assert torch.allclose(t[:, 1, 2], torch.tensor(rgb[1, 2], dtype=torch.float32) / 255)
    floats = np.full((4, 5, 3), 200.0, dtype=np.float32)
    assert compat.to_tensor(floats).max().item() == 200.0  # non-uint8 is not rescaled
    gray = Image.fromarray(np.full((4, 5), 255, dtype=np.uint8))
    assert compat.to_tensor(gray).shape == (1, 4, 5) and compat.to_tensor(gray).max() == 1.0
    with pytest.raises(TypeError):
        compat.to_tensor([1, 2, 3])


def test_facenet_imports_and_runs():
    backend = compat.ensure_facenet_importable()
    assert backend in ("torchvision", "faceleak-standin")
    assert compat.torchvision_backend() == backend
    from facenet_pytorch import MTCNN, InceptionResnetV1

    net = InceptionResnetV1(pretrained=None).eval()
    with torch.no_grad():
        emb = net(torch.rand(2, 3, 160, 160))
    assert emb.shape == (2, 512)
    assert torch.allclose(emb.norm(dim=1), torch.ones(2), atol=1e-5)

    # MTCNN runs end to end (its bundled P/R/O-net weights) and returns boxes or None.
    detector = MTCNN(device="cpu", keep_all=True)
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (160, 160, 3), dtype=np.uint8))
    boxes, probs = detector.detect(image)
    assert boxes is None or boxes.shape[1] == 4
