"""Extended Yale B: locate, parse, check, load and split the cropped face images.

The cropped Extended Yale B set holds 38 subjects photographed under 64 light directions
(192x168 PGM). A file name such as ``yaleB01_P00A+035E-20.pgm`` says subject ``yaleB01``,
pose ``P00``, light azimuth +35 degrees and elevation -20 degrees. Every subject also has
an ``_Ambient.pgm`` image (no directed light), and a ``.info`` listing of file names.

The real folder has quirks that this module reports instead of hiding:

* ``.info`` listings name files that are not there;
* one listing names the wrong pose (``P01`` for a folder that holds ``P00`` files);
* most ``_Ambient.pgm`` images are the uncropped 480x640 frame, not a 192x168 crop.

Data sources, in order: ``FACELEAK_DATA`` (a ``CroppedYale`` folder), a ``shared/`` copy
beside the repository, then a compact copy embedded in the package (64x56 PNG), made from
the full set by :func:`build_compact`. Nothing here imports a model.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import urllib.request
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

from faceleak.config import display_path

DATA_ENV = "FACELEAK_DATA"
SHARED_SUBPATH = Path("shared/data/extended_yale_b/CroppedYale")
COMPACT_RESOURCE = "yale_compact.zip"
MANIFEST_RESOURCE = "yale_manifest.json"
CROP_SHAPE = (192, 168)
COMPACT_SHAPE = (64, 56)
YALE_URL = "http://vision.ucsd.edu/extyaleb/CroppedYaleBZip/CroppedYale.zip"

CITATION = (
    "A. S. Georghiades, P. N. Belhumeur and D. J. Kriegman, 'From Few to Many: Illumination "
    "Cone Models for Face Recognition under Variable Lighting and Pose', IEEE TPAMI 23(6), "
    "643-660, 2001; K.-C. Lee, J. Ho and D. J. Kriegman, 'Acquiring Linear Subspaces for Face "
    "Recognition under Variable Lighting', IEEE TPAMI 27(5), 684-698, 2005."
)
TERMS = (
    "The Extended Yale Face Database B is provided by its authors for research use; "
    "publications using it must cite the two papers above. The compact copy in this "
    "package is a downsampled derivative for teaching and carries the same terms."
)

LIT_RE = re.compile(r"^(yaleB\d{2})_P(\d{2})A([+-]\d{3})E([+-]\d{2})\.pgm$")
AMBIENT_RE = re.compile(r"^(yaleB\d{2})_P(\d{2})_Ambient\.pgm$")

SourceKind = Literal["env", "shared", "compact"]


class DataError(RuntimeError):
    """The dataset cannot be found or read; the message says what to do."""


class CorruptImageError(DataError):
    """An image file is corrupt or truncated. ``path`` names the file."""

    def __init__(self, path: Path | str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"Corrupt image {self.path}: {reason}")


class ChecksumError(DataError):
    """Downloaded data does not match the expected SHA-256 checksums."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class FaceRecord:
    """One image file of the dataset, parsed from its name."""

    name: str
    subject: str
    pose: str
    azimuth: int | None
    elevation: int | None
    path: str

    @property
    def ambient(self) -> bool:
        return self.azimuth is None


def parse_name(name: str) -> FaceRecord | None:
    """Parse a Yale B file name; return None for names that are not face images.

    Examples
    --------
    >>> r = parse_name("yaleB01_P00A+035E-20.pgm")
    >>> (r.subject, r.pose, r.azimuth, r.elevation)
    ('yaleB01', 'P00', 35, -20)
    >>> parse_name("yaleB01_P00_Ambient.pgm").ambient
    True
    """
    base = os.path.basename(name)
    m = LIT_RE.match(base)
    if m:
        return FaceRecord(base, m.group(1), f"P{m.group(2)}", int(m.group(3)), int(m.group(4)),
                          name)
    m = AMBIENT_RE.match(base)
    if m:
        return FaceRecord(base, m.group(1), f"P{m.group(2)}", None, None, name)
    return None


# --------------------------------------------------------------------------- PGM reading


def _pgm_header(data: bytes, path: Path | str) -> tuple[int, int, int, int]:
    """Return (width, height, maxval, offset of the pixel bytes) of a binary PGM."""
    if not data.startswith(b"P5"):
        raise CorruptImageError(path, "not a binary PGM (P5) file")
    fields: list[int] = []
    pos = 2
    while len(fields) < 3:
        while pos < len(data) and data[pos : pos + 1].isspace():
            pos += 1
        if pos < len(data) and data[pos : pos + 1] == b"#":  # comment line
            while pos < len(data) and data[pos : pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(data) and data[pos : pos + 1].isdigit():
            pos += 1
        if start == pos:
            raise CorruptImageError(path, "PGM header is incomplete")
        fields.append(int(data[start:pos]))
    width, height, maxval = fields
    if width <= 0 or height <= 0 or not 0 < maxval < 65536:
        raise CorruptImageError(path, f"PGM header has impossible values {fields}")
    return width, height, maxval, pos + 1  # exactly one whitespace byte ends the header


def pgm_size(path: Path | str) -> tuple[int, int]:
    """Read only the header of a PGM and return ``(height, width)``."""
    with open(path, "rb") as fh:
        head = fh.read(256)
    width, height, _, _ = _pgm_header(head, path)
    return height, width


def read_pgm(path: Path | str) -> np.ndarray:
    """Read a binary PGM into a ``uint8`` (or ``uint16``) array of shape (height, width).

    Raises
    ------
    CorruptImageError
        If the file is not a PGM, its header is broken or the pixel data is truncated.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CorruptImageError(path, f"cannot be read ({exc})") from exc
    width, height, maxval, offset = _pgm_header(data, path)
    dtype = np.dtype(">u2") if maxval > 255 else np.dtype("u1")
    expected = width * height * dtype.itemsize
    got = len(data) - offset
    if got < expected:
        raise CorruptImageError(
            path, f"truncated: {got} of {expected} pixel bytes for {width}x{height}"
        )
    return np.frombuffer(data, dtype=dtype, count=width * height, offset=offset).reshape(
        height, width
    )


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Downsample an 8-bit image to ``shape`` = (height, width) with box (area) filtering."""
    from PIL import Image

    if image.shape == tuple(shape):
        return image
    pil = Image.fromarray(np.asarray(image, dtype=np.uint8))
    return np.asarray(pil.resize((shape[1], shape[0]), Image.Resampling.BOX))


# --------------------------------------------------------------------------- report


@dataclass
class DataReport:
    """What was found in a dataset folder, and every way it differs from its listings.

    Nothing is dropped silently: every excluded or missing file appears in one of the lists.
    """

    source: str
    root: str
    n_subjects: int = 0
    n_lit: int = 0
    n_ambient: int = 0
    ambient_uncropped: list[str] = field(default_factory=list)
    listed_missing: list[str] = field(default_factory=list)
    wrong_pose_listings: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A readable multi-line summary, as every lab prints it."""
        lines = [
            f"Extended Yale B ({self.source}): {display_path(self.root)}",
            f"  subjects: {self.n_subjects}   lit images: {self.n_lit}   "
            f"ambient images: {self.n_ambient}",
            f"  ambient images not cropped (kept apart, not used): {len(self.ambient_uncropped)}",
            f"  files named in .info listings but missing: {len(self.listed_missing)}",
            f"  listings that name the wrong pose: {len(self.wrong_pose_listings)}",
            f"  files present but not in their listing: {len(self.unlisted)}",
            f"  unrecognised files: {len(self.unrecognised)}",
            f"  corrupt images (excluded): {len(self.corrupt)}",
        ]
        for title, items in (
            ("missing", self.listed_missing),
            ("wrong pose", self.wrong_pose_listings),
            ("corrupt", self.corrupt),
            ("unrecognised", self.unrecognised),
        ):
            if items:
                shown = ", ".join(items[:6]) + (" ..." if len(items) > 6 else "")
                lines.append(f"  {title}: {shown}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- locating


@dataclass(frozen=True)
class DataSource:
    """Where the images come from."""

    kind: SourceKind
    path: Path

    def describe(self) -> str:
        """Where the images come from, as a reader's own run would print it.

        The folder is named relative to its root (``$FACELEAK_DATA``, the shared folder,
        the package): this text is printed by every lab and published in the book, so it
        must not show the build machine's absolute paths. ``self.path`` keeps the full path.
        """
        if self.kind == "env":
            return f"full set from ${DATA_ENV} (a {self.path.name} folder)"
        if self.kind == "shared":
            return f"full set from the shared folder {display_path(self.path)}"
        return (f"embedded compact copy ({COMPACT_SHAPE[0]}x{COMPACT_SHAPE[1]}) in the package: "
                f"{display_path(self.path)}")


def _compact_path() -> Path:
    return Path(str(resources.files("faceleak") / "resources" / COMPACT_RESOURCE))


def _shared_candidates() -> Iterable[Path]:
    seen: set[Path] = set()
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for ancestor in (start, *start.parents):
            candidate = ancestor / SHARED_SUBPATH
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def locate_data(prefer: SourceKind | None = None) -> DataSource:
    """Find the dataset: ``FACELEAK_DATA``, then ``shared/``, then the embedded copy.

    Parameters
    ----------
    prefer
        Force one source (``"env"``, ``"shared"`` or ``"compact"``); an error if it is absent.

    Raises
    ------
    DataError
        If ``FACELEAK_DATA`` is set but is not a ``CroppedYale`` folder, or no source exists.
    """
    env = os.environ.get(DATA_ENV, "").strip()
    if env and prefer in (None, "env"):
        path = Path(env).expanduser()
        if not path.is_dir() or not any(path.glob("yaleB*")):
            raise DataError(
                f"{DATA_ENV}={env} is not a CroppedYale folder (it should contain yaleB01, "
                f"yaleB02, ... sub-folders). Fix the path, or unset {DATA_ENV} to use the "
                "embedded compact copy."
            )
        return DataSource("env", path)
    if prefer == "env":
        raise DataError(f"{DATA_ENV} is not set.")
    if prefer in (None, "shared"):
        for candidate in _shared_candidates():
            if candidate.is_dir():
                return DataSource("shared", candidate)
        if prefer == "shared":
            raise DataError(f"No {SHARED_SUBPATH} folder next to this repository.")
    compact = _compact_path()
    if compact.is_file():
        return DataSource("compact", compact)
    raise DataError(
        "Extended Yale B was not found. Set FACELEAK_DATA to a CroppedYale folder, or run "
        "`python -m faceleak data download DEST` and point FACELEAK_DATA at DEST/CroppedYale. "
        f"(The embedded copy {compact} is missing from this installation too.)"
    )


# --------------------------------------------------------------------------- scanning


def scan_folder(root: Path | str, source: str = "folder") -> tuple[list[FaceRecord], DataReport]:
    """List a ``CroppedYale`` folder and compare it with its ``.info`` listings.

    Reads only file names and PGM headers, so it is fast; pixels are read by
    :func:`load_faces`. Returns the records (lit and ambient) and the report.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder. Point {DATA_ENV} at a CroppedYale folder.")
    report = DataReport(source=source, root=str(root))
    records: list[FaceRecord] = []
    subjects = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("yaleB"))
    if not subjects:
        raise DataError(f"{root} holds no yaleB* sub-folders: is it really CroppedYale?")
    for folder in subjects:
        present = {p.name for p in folder.iterdir() if p.is_file()}
        listed: set[str] = set()
        for info in sorted(folder.glob("*.info")):
            for line in info.read_text(errors="replace").splitlines():
                name = line.strip()
                if not name:
                    continue
                parsed = parse_name(name)
                if parsed is not None and parsed.subject != folder.name:
                    report.notes.append(f"{info.name} lists {name}, a file of another subject")
                pose_fixed = name
                if parsed is not None and f"{parsed.subject}_{parsed.pose}" not in info.name:
                    # The listing's own name says which pose it describes.
                    pose_fixed = re.sub(r"_P\d{2}", "_" + info.stem.split("_")[-1], name, count=1)
                    report.wrong_pose_listings.append(f"{info.name}: {name}")
                listed.add(pose_fixed)
                if pose_fixed not in present:
                    report.listed_missing.append(f"{folder.name}/{pose_fixed}")
        for name in sorted(present):
            if name.endswith(".info"):
                continue
            rec = parse_name(name)
            if rec is None or rec.subject != folder.name:
                report.unrecognised.append(f"{folder.name}/{name}")
                continue
            if listed and name not in listed:
                report.unlisted.append(f"{folder.name}/{name}")
            rec = FaceRecord(rec.name, rec.subject, rec.pose, rec.azimuth, rec.elevation,
                             str(folder / name))
            if rec.ambient:
                report.n_ambient += 1
                try:
                    shape = pgm_size(rec.path)
                except CorruptImageError as exc:
                    report.corrupt.append(f"{exc.path}: {exc.reason}")
                    continue
                if shape != CROP_SHAPE:
                    report.ambient_uncropped.append(f"{folder.name}/{name} ({shape[0]}x{shape[1]})")
            else:
                report.n_lit += 1
            records.append(rec)
    report.n_subjects = len(subjects)
    # A listing that names the wrong pose is reported once per listing, not per line.
    by_listing = sorted({entry.split(":")[0] for entry in report.wrong_pose_listings})
    if by_listing:
        n_lines = len(report.wrong_pose_listings)
        report.wrong_pose_listings = by_listing
        report.notes.append(
            f"{', '.join(by_listing)} name pose P01 in {n_lines} lines although the folder holds "
            "P00 files; the listing was read as P00"
        )
    return records, report


# --------------------------------------------------------------------------- loading


@dataclass
class FaceSet:
    """Face images with their subject and light direction, ready for the labs.

    Attributes
    ----------
    images
        ``float32`` array (N, H, W) with values in [0, 1].
    subjects
        Subject name of each image (``"yaleB01"``, ...).
    azimuth, elevation
        Light direction in degrees (NaN for ambient images).
    names
        File name of each image.
    source
        Where the images came from.
    report
        The :class:`DataReport` of the scan, including what was excluded.
    """

    images: np.ndarray
    subjects: np.ndarray
    azimuth: np.ndarray
    elevation: np.ndarray
    names: np.ndarray
    source: DataSource
    report: DataReport

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def subject_names(self) -> list[str]:
        return sorted(set(self.subjects.tolist()))

    @property
    def labels(self) -> np.ndarray:
        """Integer identity label per image (index into :attr:`subject_names`)."""
        lookup = {s: i for i, s in enumerate(self.subject_names)}
        return np.array([lookup[s] for s in self.subjects], dtype=np.int64)

    def subset(self, index: np.ndarray | Sequence[int]) -> FaceSet:
        """The images selected by a boolean mask or an index array."""
        idx = np.asarray(index)
        return FaceSet(self.images[idx], self.subjects[idx], self.azimuth[idx],
                       self.elevation[idx], self.names[idx], self.source, self.report)

    def find(self, subject: str, azimuth: int, elevation: int) -> int:
        """Index of one subject's image under a given light; KeyError if absent."""
        hits = np.flatnonzero((self.subjects == subject) & (self.azimuth == azimuth)
                              & (self.elevation == elevation))
        if hits.size == 0:
            raise KeyError(f"{subject} has no image with light A{azimuth:+04d} E{elevation:+03d}")
        return int(hits[0])

    def to_frame(self):
        """A pandas DataFrame of the metadata (one row per image)."""
        import pandas as pd

        return pd.DataFrame({"name": self.names, "subject": self.subjects,
                             "azimuth": self.azimuth, "elevation": self.elevation})


def _records_to_faceset(records: list[FaceRecord], arrays: list[np.ndarray],
                        source: DataSource, report: DataReport) -> FaceSet:
    n = len(records)
    images = (np.stack(arrays).astype(np.float32) / 255.0 if n
              else np.zeros((0, *COMPACT_SHAPE), np.float32))
    nan = float("nan")
    return FaceSet(
        images=images,
        subjects=np.array([r.subject for r in records], dtype=object),
        azimuth=np.array([nan if r.azimuth is None else r.azimuth for r in records], float),
        elevation=np.array([nan if r.elevation is None else r.elevation for r in records], float),
        names=np.array([r.name for r in records], dtype=object),
        source=source,
        report=report,
    )


def load_faces(
    image_size: tuple[int, int] = COMPACT_SHAPE,
    kind: Literal["lit", "ambient"] = "lit",
    subjects: Sequence[str] | None = None,
    source: DataSource | None = None,
    on_corrupt: Literal["report", "raise"] = "report",
) -> FaceSet:
    """Load Extended Yale B face crops as a :class:`FaceSet`.

    Parameters
    ----------
    image_size
        Output (height, width); images are box-downsampled from 192x168. The embedded
        compact copy supports at most its own 64x56.
    kind
        ``"lit"`` for the 64 light directions, ``"ambient"`` for the cropped ambient images
        (the uncropped 480x640 ones are listed in the report and never returned).
    subjects
        Restrict to these subject names.
    source
        A :class:`DataSource`; by default :func:`locate_data`.
    on_corrupt
        ``"report"`` excludes a corrupt image, warns and lists it in ``report.corrupt``;
        ``"raise"`` raises :class:`CorruptImageError` naming the file.
    """
    height, width = _validate_size(image_size)
    src = source or locate_data()
    if src.kind == "compact":
        if (height, width) != COMPACT_SHAPE and (height > COMPACT_SHAPE[0]
                                                  or width > COMPACT_SHAPE[1]):
            raise DataError(
                f"The embedded compact copy is {COMPACT_SHAPE[0]}x{COMPACT_SHAPE[1]}; "
                f"{height}x{width} needs the full set (set {DATA_ENV}, see "
                "`python -m faceleak data download`)."
            )
        return _load_compact(src, (height, width), kind, subjects)
    records, report = scan_folder(src.path, source=src.kind)
    wanted = set(subjects) if subjects is not None else None
    if wanted is not None:
        unknown = wanted - {r.subject for r in records}
        if unknown:
            raise DataError(f"Unknown subjects {sorted(unknown)}; known: yaleB01..yaleB39.")
    chosen: list[FaceRecord] = []
    arrays: list[np.ndarray] = []
    for rec in records:
        if (kind == "lit") == rec.ambient:
            continue
        if wanted is not None and rec.subject not in wanted:
            continue
        try:
            pixels = read_pgm(rec.path)
        except CorruptImageError as exc:
            if on_corrupt == "raise":
                raise
            report.corrupt.append(f"{exc.path}: {exc.reason}")
            warnings.warn(f"Excluded {exc}", stacklevel=2)
            continue
        if pixels.shape != CROP_SHAPE:
            continue  # uncropped ambient frames: already listed in report.ambient_uncropped
        chosen.append(rec)
        arrays.append(resize(pixels, (height, width)))
    return _records_to_faceset(chosen, arrays, src, report)


def _validate_size(image_size: Sequence[int]) -> tuple[int, int]:
    if len(image_size) != 2 or any(int(v) != v or v < 8 for v in image_size):
        raise ValueError(f"image_size must be (height, width) >= 8, got {image_size!r}")
    height, width = int(image_size[0]), int(image_size[1])
    if height > CROP_SHAPE[0] or width > CROP_SHAPE[1]:
        raise ValueError(f"image_size {image_size} is larger than the {CROP_SHAPE} crops")
    return height, width


def _load_compact(src: DataSource, shape: tuple[int, int], kind: str,
                  subjects: Sequence[str] | None) -> FaceSet:
    from PIL import Image

    try:
        archive = zipfile.ZipFile(src.path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"The embedded compact copy {src.path} is damaged ({exc}). "
                        "Reinstall the package or set FACELEAK_DATA.") from exc
    with archive:
        report = DataReport(**json.loads(archive.read("report.json")))
        report.source, report.root = "compact", str(src.path)
        report.notes.append(
            f"images are a {COMPACT_SHAPE[0]}x{COMPACT_SHAPE[1]} derivative of the full set; "
            "the counts above describe the full set it was made from"
        )
        wanted = set(subjects) if subjects is not None else None
        records, arrays = [], []
        for member in sorted(archive.namelist()):
            if not member.endswith(".png"):
                continue
            rec = parse_name(Path(member).stem + ".pgm")
            if rec is None or (kind == "lit") == rec.ambient:
                continue
            if wanted is not None and rec.subject not in wanted:
                continue
            pixels = np.asarray(Image.open(io.BytesIO(archive.read(member))).convert("L"))
            records.append(rec)
            arrays.append(resize(pixels, shape))
    return _records_to_faceset(records, arrays, src, report)


def build_compact(root: Path | str, out: Path | str) -> DataReport:
    """Write the embedded compact copy: every cropped image as a 64x56 PNG in a zip.

    The zip also holds ``report.json`` (the full set's scan report) and a README with the
    dataset's citation and terms. Returns the report.
    """
    from PIL import Image

    faces = load_faces(COMPACT_SHAPE, "lit", source=DataSource("env", Path(root)),
                       on_corrupt="raise")
    ambient = load_faces(COMPACT_SHAPE, "ambient", source=DataSource("env", Path(root)),
                         on_corrupt="raise")
    report = faces.report
    report.source = "full"
    out = Path(out)
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("README.txt", f"Extended Yale B, cropped, {COMPACT_SHAPE} derivative."
                         f"\n\nCite: {CITATION}\n\nTerms: {TERMS}\n")
        archive.writestr("report.json", json.dumps(report.to_dict(), indent=1))
        for fs in (faces, ambient):
            for img, name, subject in zip(fs.images, fs.names, fs.subjects, strict=True):
                buf = io.BytesIO()
                Image.fromarray(np.round(img * 255).astype(np.uint8)).save(
                    buf, format="PNG", optimize=True)
                archive.writestr(f"{subject}/{Path(name).stem}.png", buf.getvalue())
    tmp.replace(out)
    return report


# --------------------------------------------------------------------------- splits


@dataclass(frozen=True)
class SubjectSplit:
    """A subject-disjoint split: no held-out subject's image is ever used to fit anything."""

    train: tuple[str, ...]
    heldout: tuple[str, ...]
    seed: int | None

    def __post_init__(self) -> None:
        overlap = set(self.train) & set(self.heldout)
        if overlap:
            raise ValueError(f"Split is not subject-disjoint: {sorted(overlap)} in both parts")

    def masks(self, subjects: np.ndarray | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks (train, heldout) over an array of per-image subject names."""
        subjects = np.asarray(subjects, dtype=object)
        return np.isin(subjects, self.train), np.isin(subjects, self.heldout)


def split_subjects(
    subjects: Iterable[str],
    n_heldout: int = 10,
    seed: int = 0,
    heldout: Sequence[str] | None = None,
) -> SubjectSplit:
    """Split subjects into training and held-out subjects: the one way every lab splits data.

    Parameters
    ----------
    subjects
        Subject names (repeats allowed, e.g. one per image).
    n_heldout
        Number of held-out subjects, drawn with ``seed``. Ignored when ``heldout`` is given.
    seed
        Seed of the draw.
    heldout
        An explicit list of held-out subjects.
    """
    names = sorted(set(subjects))
    if len(names) < 2:
        raise ValueError("Need at least two subjects to split.")
    if heldout is not None:
        chosen = sorted(set(heldout))
        unknown = set(chosen) - set(names)
        if unknown:
            raise ValueError(f"Held-out subjects {sorted(unknown)} are not in the data.")
        if not chosen or len(chosen) >= len(names):
            raise ValueError("Hold out at least one subject and keep at least one for training.")
        seed_used: int | None = None
    else:
        if not 1 <= n_heldout < len(names):
            raise ValueError(f"n_heldout must be in 1..{len(names) - 1}, got {n_heldout}")
        rng = np.random.default_rng(seed)
        chosen = sorted(rng.choice(names, size=n_heldout, replace=False).tolist())
        seed_used = seed
    train = tuple(s for s in names if s not in set(chosen))
    return SubjectSplit(train=train, heldout=tuple(chosen), seed=seed_used)


# --------------------------------------------------------------------------- download


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def load_manifest() -> dict[str, str]:
    """SHA-256 of every file of the cropped set (relative path -> hex), shipped with the package."""
    text = (resources.files("faceleak") / "resources" / MANIFEST_RESOURCE).read_text()
    return json.loads(text)


def build_manifest(root: Path | str) -> dict[str, str]:
    """SHA-256 of every file under a CroppedYale folder, keyed by ``yaleBxx/name``."""
    root = Path(root)
    return {str(p.relative_to(root)): sha256_file(p)
            for p in sorted(root.rglob("*")) if p.is_file()}


def download(
    dest: Path | str,
    url: str = YALE_URL,
    manifest: dict[str, str] | None = None,
    archive_sha256: str | None = None,
) -> Path:
    """Download and unpack the full cropped set, verifying every file's SHA-256.

    Parameters
    ----------
    dest
        Folder to unpack into; the result is ``dest/CroppedYale``.
    url
        Archive URL (the dataset's published zip by default; ``file://`` URLs work too).
    manifest
        Expected SHA-256 per ``yaleBxx/name``; by default the manifest shipped with the
        package, made from the reference copy.
    archive_sha256
        Optional SHA-256 of the zip itself.

    Returns
    -------
    Path
        The verified ``CroppedYale`` folder.

    Raises
    ------
    ChecksumError
        If the archive or any file differs from the expected checksums, or files are
        missing; nothing is left at ``dest/CroppedYale`` in that case.
    DataError
        If the download fails or the archive is not a zip.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    expected = load_manifest() if manifest is None else manifest
    final = dest / "CroppedYale"
    if final.exists():
        raise DataError(f"{final} already exists; remove it or choose another folder.")
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        archive_path = Path(tmp) / "archive.zip"
        try:
            with urllib.request.urlopen(url, timeout=60) as response, \
                    open(archive_path, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:
            raise DataError(f"Download of {url} failed ({exc}). Check the network, or fetch "
                            f"the zip by hand and pass its file:// URL.") from exc
        if archive_sha256 and sha256_file(archive_path) != archive_sha256.lower():
            raise ChecksumError(f"{url}: archive SHA-256 differs from {archive_sha256}")
        unpacked = Path(tmp) / "unpacked"
        try:
            with zipfile.ZipFile(archive_path) as archive:
                for member in archive.namelist():
                    target = (unpacked / member).resolve()
                    if not str(target).startswith(str(unpacked.resolve())):
                        raise DataError(f"Refusing unsafe path {member!r} in {url}")
                archive.extractall(unpacked)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{url} is not a zip archive ({exc}).") from exc
        found = next((p for p in [unpacked / "CroppedYale", unpacked] if
                      any(p.glob("yaleB*"))), None)
        if found is None:
            raise DataError(f"{url} holds no CroppedYale/yaleB* folders.")
        actual = build_manifest(found)
        missing = sorted(set(expected) - set(actual))
        wrong = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
        if missing or wrong:
            raise ChecksumError(
                f"{url}: {len(wrong)} files differ from the expected SHA-256 and "
                f"{len(missing)} are missing (e.g. {(wrong + missing)[:3]}). Nothing was kept."
            )
        shutil.move(str(found), final)
    return final
