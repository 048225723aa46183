#!/usr/bin/env python3
"""Pairs Banyan and PyTorch JSON lines (same net, batch, precision) into a
table of images/s, peak device memory and Banyan/PyTorch ratios: against
PyTorch eager in the same mode and against PyTorch's best variant."""
import json
import sys


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rows.append(json.loads(line))
    return rows


def main():
    rows = [r for r in load(sys.argv[1:]) if "error" not in r]
    banyan = [r for r in rows if r["engine"] == "banyan"]
    torch = [r for r in rows if r["engine"] == "pytorch"]
    print(f"{'net':<22}{'batch':>6}{'mode':>6}{'banyan img/s':>14}{'GiB':>6}"
          f"{'torch eager':>13}{'torch best':>12}{'(variant)':>15}{'vs eager':>10}{'vs best':>9}")
    for b in sorted(banyan, key=lambda r: (r["name"], -r["batch"], r["precision"])):
        same = [t for t in torch if t["name"] == b["name"] and t["batch"] == b["batch"]
                and t["precision"] == b["precision"]]
        eager = next((t for t in same if t["variant"] == "eager"), None)
        best = max(same, key=lambda t: t["images_per_s"], default=None)
        e = eager["images_per_s"] if eager else float("nan")
        bb = best["images_per_s"] if best else float("nan")
        print(f"{b['name']:<22}{b['batch']:>6}{b['precision']:>6}{b['images_per_s']:>14.0f}"
              f"{b['device_bytes'] / 2**30:>6.2f}{e:>13.0f}{bb:>12.0f}"
              f"{(best['variant'] if best else '-'):>15}{b['images_per_s'] / e:>10.2f}"
              f"{b['images_per_s'] / bb:>9.2f}")


if __name__ == "__main__":
    main()
