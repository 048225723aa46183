#!/usr/bin/env bash
# Converts Fashion-MNIST (Debian package dataset-fashion-mnist) to the LMDBs
# models/fashion_mnist reads, out/fashion_mnist/{train,test}_lmdb, unless they
# are there already.  Needs build/bin/convert_mnist.  Run from the checkout.
set -euo pipefail
src=/usr/share/datasets/fashion-mnist
out=out/fashion_mnist
mkdir -p "$out"
for split in train:train t10k:test; do
  name=${split%%:*}; lmdb=$out/${split##*:}_lmdb
  if [ ! -d "$lmdb" ]; then
    build/bin/convert_mnist "$src/$name-images-idx3-ubyte.gz" "$src/$name-labels-idx1-ubyte.gz" "$lmdb"
  fi
done
