"""scripts/build-oci.sh (`make oci`): an OCI image layout in the Wasm "compat" format Istio and
Envoy Gateway fetch: one manifest, one tar+gzip layer holding plugin.wasm alone, every digest
and size matching its blob, the published sha256 files right, and the build reproducible."""

import gzip
import hashlib
import io
import json
import subprocess
import tarfile

import pytest

from helpers import ROOT

BUILT = ROOT / "target/wasm32-wasip1/release/cognigy_enrich.wasm"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def wasm(tmp_path_factory):
    if BUILT.exists():
        return BUILT
    # Without a build, a minimal valid module (magic + version) exercises the packaging.
    p = tmp_path_factory.mktemp("wasm") / "min.wasm"
    p.write_bytes(b"\0asm\x01\0\0\0")
    return p


def build(wasm, out):
    subprocess.run([str(ROOT / "scripts/build-oci.sh"), str(wasm), str(out)], check=True,
                   capture_output=True, text=True, timeout=120)


def blob(layout, digest):
    algo, hexd = digest.split(":")
    assert algo == "sha256"
    data = (layout / "blobs" / "sha256" / hexd).read_bytes()
    assert sha(data) == hexd, f"blob {digest} does not hash to its name"
    return data


def test_layout_structure_and_digests(wasm, tmp_path):
    build(wasm, tmp_path)
    layout = tmp_path / "layout"
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    (desc,) = index["manifests"]
    assert desc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert desc["annotations"]["org.opencontainers.image.ref.name"]
    manifest_bytes = blob(layout, desc["digest"])
    assert len(manifest_bytes) == desc["size"]
    manifest = json.loads(manifest_bytes)
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"

    cfg_desc = manifest["config"]
    assert cfg_desc["mediaType"] == "application/vnd.oci.image.config.v1+json"
    cfg_bytes = blob(layout, cfg_desc["digest"])
    assert len(cfg_bytes) == cfg_desc["size"]
    config = json.loads(cfg_bytes)

    (layer_desc,) = manifest["layers"]  # exactly one layer
    assert layer_desc["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    layer = blob(layout, layer_desc["digest"])
    assert len(layer) == layer_desc["size"]
    tar_bytes = gzip.decompress(layer)
    assert config["rootfs"] == {"type": "layers", "diff_ids": [f"sha256:{sha(tar_bytes)}"]}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["plugin.wasm"]
        assert members[0].isfile()
        assert tar.extractfile(members[0]).read() == wasm.read_bytes()

    # No stray blobs.
    names = {p.name for p in (layout / "blobs" / "sha256").iterdir()}
    assert names == {d.split(":")[1] for d in (desc["digest"], cfg_desc["digest"], layer_desc["digest"])}

    # The published digests.
    wasm_sha = (tmp_path / "cognigy_enrich.wasm.sha256").read_text().split()[0]
    assert wasm_sha == sha(wasm.read_bytes())
    manifest_sha = (tmp_path / "manifest.sha256").read_text().split()[0]
    assert f"sha256:{manifest_sha}" == desc["digest"]

    # The tarball holds the same layout.
    with tarfile.open(tmp_path / "cognigy-enrich.oci.tar") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    assert files["index.json"] == (layout / "index.json").read_bytes()
    assert files["oci-layout"] == (layout / "oci-layout").read_bytes()
    assert files[f"blobs/sha256/{manifest_sha}"] == manifest_bytes


def test_build_is_reproducible(wasm, tmp_path):
    build(wasm, tmp_path / "a")
    build(wasm, tmp_path / "b")
    assert (tmp_path / "a/manifest.sha256").read_text() == (tmp_path / "b/manifest.sha256").read_text()
    assert (tmp_path / "a/cognigy-enrich.oci.tar").read_bytes() == (tmp_path / "b/cognigy-enrich.oci.tar").read_bytes()


def test_refuses_a_file_that_is_not_wasm(tmp_path):
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"not wasm")
    r = subprocess.run([str(ROOT / "scripts/build-oci.sh"), str(bad), str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "not a WebAssembly module" in r.stderr
