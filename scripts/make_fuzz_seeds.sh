#!/usr/bin/env bash
# Rebuilds the fuzz seed corpora in tests/fuzz/corpus/ (committed; rerun
# only when a format changes):  scripts/make_fuzz_seeds.sh <fuzz build dir>
# Text seeds come from the shipped models and test fixtures, IDX and PNG
# seeds are written here, the rest by write_fuzz_seeds with Banyan's writers.
# net_setup's seeds (small nets that build and run) are written by hand and
# kept.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/make_fuzz_seeds.sh <build dir with BANYAN_FUZZ=ON>}
c=tests/fuzz/corpus
find "$c" -mindepth 1 -maxdepth 1 ! -name net_setup -exec rm -rf {} +
mkdir -p "$c"/{net_text,solver_text,topology,idx,png}
for f in models/*/train_val.prototxt models/*/deploy.prototxt tests/fixtures/config/*.prototxt \
         tests/fixtures/caffe/models/*/*.prototxt tests/fixtures/caffe/examples/*/*.prototxt; do
  case "$f" in
    *solver*) dest=solver_text ;;
    *) dest=net_text ;;
  esac
  cp "$f" "$c/$dest/$(echo "$f" | tr / _)"
done
for f in models/*/solver.prototxt; do cp "$f" "$c/solver_text/$(echo "$f" | tr / _)"; done
cp tests/fixtures/topology/*.txt "$c/topology/"
python3 - "$c" <<'PY'
import struct, sys, zlib
root = sys.argv[1]
# IDX: 2 images of 3x2 and 2 labels (magic 0x803 / 0x801, big-endian sizes).
open(f"{root}/idx/images", "wb").write(struct.pack(">IIII", 0x803, 2, 3, 2) + bytes(range(12)))
open(f"{root}/idx/labels", "wb").write(struct.pack(">II", 0x801, 2) + bytes([3, 9]))
def png(w, h, depth, ctype, rows, plte=b""):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\0" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
    if plte:
        out += chunk(b"PLTE", plte)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
seeds = {
    "gray8": png(3, 2, 8, 0, [bytes([1, 2, 3]), bytes([4, 5, 6])]),
    "rgb8": png(2, 2, 8, 2, [bytes(range(6)), bytes(range(6, 12))]),
    "rgba8": png(2, 1, 8, 6, [bytes(range(8))]),
    "gray16": png(2, 1, 16, 0, [bytes([0, 1, 255, 254])]),
    "palette": png(2, 1, 8, 3, [bytes([0, 1])], plte=bytes([255, 0, 0, 0, 255, 0])),
}
# The first byte picks the channel count (png_fuzz.cc): 0 -> 3, 1 -> 1.
for name, data in seeds.items():
    open(f"{root}/png/{name}_bgr", "wb").write(b"\0" + data)
    open(f"{root}/png/{name}_gray", "wb").write(b"\1" + data)
PY
"$build"/fuzz/write_fuzz_seeds "$c"
# The pipeline's sample step: each Datum seed under each format (sample_fuzz.cc).
mkdir -p "$c/sample"
for f in "$c"/datum/*; do
  for k in 0 1 2 3 4; do
    { printf "\\x0$k"; cat "$f"; } >"$c/sample/$(basename "$f")_$k"
  done
done
find "$c" -type f | sed 's|/[^/]*$||' | sort | uniq -c
