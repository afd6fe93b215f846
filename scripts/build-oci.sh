#!/usr/bin/env bash
# Packages the filter as a Wasm OCI image the way Istio (WasmPlugin) and Envoy Gateway
# (EnvoyExtensionPolicy, code.type Image) fetch it, without Docker: the "compat" variant of the
# Wasm image spec, i.e. an OCI image manifest with exactly one layer of media type
# application/vnd.oci.image.layer.v1.tar+gzip holding one file, plugin.wasm.
#
#   scripts/build-oci.sh [WASM] [OUT]     defaults: the release build, target/oci
#
# Writes (reproducible: the same .wasm gives the same digests):
#   OUT/layout/                  OCI image layout (oci-layout, index.json, blobs/sha256/...)
#   OUT/cognigy-enrich.oci.tar   the same layout as one tar (skopeo: oci-archive:...)
#   OUT/cognigy_enrich.wasm.sha256   sha256 of the .wasm (Envoy `remote.sha256`, WasmPlugin
#                                    `sha256` for http(s) URLs)
#   OUT/manifest.sha256          digest of the image manifest (WasmPlugin `sha256` for oci://)
# Push with any OCI tool, e.g.:
#   skopeo copy oci:OUT/layout:VERSION docker://registry.example.com/cognigy-enrich:VERSION
#   crane push OUT/layout registry.example.com/cognigy-enrich:VERSION
set -euo pipefail
cd "$(dirname "$0")/.."
WASM="${1:-target/wasm32-wasip1/release/cognigy_enrich.wasm}"
OUT="${2:-target/oci}"
VERSION="${VERSION:-$(awk -F'"' '/^version = /{print $2; exit}' Cargo.toml)}"

[[ -f "$WASM" ]] || { echo "$WASM missing: run 'make build' first" >&2; exit 1; }

python3 - "$WASM" "$OUT" "$VERSION" <<'PY'
import gzip
import hashlib
import io
import json
import shutil
import sys
import tarfile
from pathlib import Path

wasm_path, out, version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
wasm = wasm_path.read_bytes()
if not wasm.startswith(b"\0asm"):
    sys.exit(f"{wasm_path} is not a WebAssembly module")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


# The layer: a tar with plugin.wasm alone, fixed metadata, gzip without a timestamp.
tar_buf = io.BytesIO()
with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
    info = tarfile.TarInfo("plugin.wasm")
    info.size, info.mode, info.mtime = len(wasm), 0o444, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(wasm))
layer_tar = tar_buf.getvalue()
gz_buf = io.BytesIO()
with gzip.GzipFile(fileobj=gz_buf, mode="wb", mtime=0, filename="") as gz:
    gz.write(layer_tar)
layer = gz_buf.getvalue()

config = canonical({
    "architecture": "wasm",
    "os": "wasip1",
    "config": {},
    "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha256(layer_tar)}"]},
})
annotations = {
    "org.opencontainers.image.title": "cognigy-enrich",
    "org.opencontainers.image.description": "Envoy proxy-wasm filter: Cognigy Agent Assist customer context",
    "org.opencontainers.image.version": version,
    "org.opencontainers.image.licenses": "Apache-2.0",
}
manifest = canonical({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "digest": f"sha256:{sha256(config)}",
        "size": len(config),
    },
    "layers": [{
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
        "digest": f"sha256:{sha256(layer)}",
        "size": len(layer),
        "annotations": {"org.opencontainers.image.title": "plugin.wasm"},
    }],
    "annotations": annotations,
})
index = canonical({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": f"sha256:{sha256(manifest)}",
        "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": version},
    }],
})

layout = out / "layout"
if layout.exists():
    shutil.rmtree(layout)
blobs = layout / "blobs" / "sha256"
blobs.mkdir(parents=True)
for blob in (layer, config, manifest):
    (blobs / sha256(blob)).write_bytes(blob)
(layout / "oci-layout").write_bytes(canonical({"imageLayoutVersion": "1.0.0"}))
(layout / "index.json").write_bytes(index)

archive = out / "cognigy-enrich.oci.tar"
with tarfile.open(archive, mode="w", format=tarfile.PAX_FORMAT) as tar:
    for path in sorted(p for p in layout.rglob("*") if p.is_file()):
        data = path.read_bytes()
        info = tarfile.TarInfo(str(path.relative_to(layout)))
        info.size, info.mode, info.mtime = len(data), 0o444, 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(data))

(out / "cognigy_enrich.wasm.sha256").write_text(f"{sha256(wasm)}  cognigy_enrich.wasm\n")
(out / "manifest.sha256").write_text(f"{sha256(manifest)}  manifest\n")
print(f"OCI image layout: {layout} (tar: {archive})")
print(f"  wasm     sha256:{sha256(wasm)}  ({len(wasm)} bytes)")
print(f"  manifest sha256:{sha256(manifest)}  (tag {version})")
PY
