#!/usr/bin/env python3
# Training curves from `banyan train`'s JSON-lines metrics: training loss
# (raw and smoothed) with the test losses, test accuracy, learning rate and
# images/s against the iteration, several runs overlaid with a legend.
# A resumed run appends to its file and may repeat iterations after a crash:
# a line whose iteration goes back replaces what was logged from there on.
# The PNG is written to a temporary name and renamed, so a viewer (or
# `banyan train --plot`, which reruns this at every test pass) never sees a
# torn file.  A last line without its newline is a line being written and
# is skipped; any other malformed line is an error naming file:line.
#
# Usage: plot_training.py RUN.jsonl[=LABEL] [...] --out curves.png
#        [--smooth N (default: a tenth of the lines, at most 20)] [--title T] [--quiet]
#        plot_training.py --check     (exit 0 when matplotlib can be used)
import argparse
import json
import math
import os
import statistics
import sys


class MetricsError(Exception):
    pass


def parse_run_arg(arg):
    """'path=label' or 'path' (label: the file name without _metrics.jsonl)."""
    path, label = arg, None
    if "=" in arg and not os.path.exists(arg):
        path, label = arg.split("=", 1)
    if not label:
        label = os.path.basename(path)
        for suffix in ("_metrics.jsonl", ".jsonl"):
            if label.endswith(suffix):
                label = label[: -len(suffix)]
                break
    return path, label


def keep_until(points, it):
    """Drops points at iteration >= it (a resumed run logs them again)."""
    while points and points[-1][0] >= it:
        points.pop()


def load_run(path):
    """Returns {'train': {key: [(iter, value)]}, 'test': {key: [(iter, value)]}}."""
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", errors="replace")
    except OSError as e:
        raise MetricsError(f"{path}: cannot read: {e.strerror}")
    lines = data.split("\n")
    lines.pop()  # text after the last newline: empty, or a line being written
    run = {"train": {}, "test": {}}
    last_iter = {"train": None, "test": None}
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise MetricsError(f"{path}:{n}: not a JSON object ({e.msg} at column {e.colno})")
        if not isinstance(obj, dict) or "iter" not in obj or "phase" not in obj:
            raise MetricsError(f"{path}:{n}: expected an object with 'iter' and 'phase'")
        phase, it = obj["phase"], obj["iter"]
        if phase not in run or not isinstance(it, (int, float)):
            raise MetricsError(f"{path}:{n}: phase must be train or test and iter a number, "
                               f"got {phase!r} and {it!r}")
        net = obj.get("test_net", 0) if phase == "test" else None
        # Iterations go back: this run resumed from an earlier snapshot.
        if last_iter[phase] is not None and it < last_iter[phase]:
            for points in run[phase].values():
                keep_until(points, it)
        elif phase == "test" and last_iter[phase] == it and net == 0:
            for points in run[phase].values():
                keep_until(points, it)
        last_iter[phase] = it
        for key, value in obj.items():
            if key in ("iter", "phase", "test_net"):
                continue
            if value is None:
                value = float("nan")  # non-finite values are written as null
            if not isinstance(value, (int, float)):
                continue
            name = key if phase == "train" or not net else f"{key} (test net #{net})"
            run[phase].setdefault(name, []).append((it, float(value)))
    return run


def smooth(values, window):
    """Trailing moving average over `window` points, ignoring NaN."""
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > window:
            acc.pop(0)
        finite = [a for a in acc if math.isfinite(a)]
        out.append(sum(finite) / len(finite) if finite else float("nan"))
    return out


def is_loss(name):
    return "loss" in name.lower()


def is_accuracy(name):
    return "acc" in name.lower()


def summary(label, run):
    train, test = run["train"], run["test"]
    parts = [label]
    if "loss" in train and train["loss"]:
        last = train["loss"][-1]
        parts.append(f"iter {last[0]} train loss {last[1]:.4g}")
    for name, points in sorted(test.items()):
        if is_accuracy(name) and points:
            best = max(v for _, v in points if math.isfinite(v)) if any(
                math.isfinite(v) for _, v in points) else float("nan")
            parts.append(f"{name} last {points[-1][1]:.4g} best {best:.4g}")
        elif is_loss(name) and points:
            parts.append(f"test {name} last {points[-1][1]:.4g}")
    speeds = [v for _, v in train.get("images_per_s", []) if math.isfinite(v) and v > 0]
    if speeds:
        parts.append(f"median {statistics.median(speeds):.1f} images/s")
    return label + ": " + (", ".join(parts[1:]) if len(parts) > 1 else "no data yet")


def plot(runs, out, smooth_window, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax_loss, ax_acc, ax_lr, ax_speed = axes[0][0], axes[0][1], axes[1][0], axes[1][1]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (label, run) in enumerate(runs):
        color = colors[k % len(colors)]
        train, test = run["train"], run["test"]
        loss = train.get("loss", [])
        if loss:
            xs, ys = [p[0] for p in loss], [p[1] for p in loss]
            ax_loss.plot(xs, ys, color=color, alpha=0.25, linewidth=0.8)
            ax_loss.plot(xs, smooth(ys, smooth_window), color=color, label=f"{label} train")
        styles = ["--", ":", "-."]
        test_losses = [n for n in sorted(test) if n.startswith("total_loss")] or [
            n for n in sorted(test) if is_loss(n)]
        for j, name in enumerate(test_losses):
            xs, ys = [p[0] for p in test[name]], [p[1] for p in test[name]]
            ax_loss.plot(xs, ys, styles[j % 3], color=color, marker="o", markersize=3,
                         label=f"{label} test {name}")
        for j, name in enumerate(n for n in sorted(test) if is_accuracy(n)):
            xs, ys = [p[0] for p in test[name]], [p[1] for p in test[name]]
            ax_acc.plot(xs, ys, ["-", "--", ":"][j % 3], color=color, marker="o", markersize=3,
                        label=f"{label} {name}")
        for key, ax, style in (("lr", ax_lr, "steps-post"), ("images_per_s", ax_speed, "default")):
            points = train.get(key, [])
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], color=color, label=label,
                        drawstyle=style)
    ax_loss.set_title("loss (train: raw, and moving average of %d lines)" % smooth_window
                      if smooth_window > 1 else "loss")
    ax_acc.set_title("test accuracy")
    ax_lr.set_title("learning rate")
    ax_speed.set_title("training images/s")
    lrs = [v for _, run in runs for _, v in run["train"].get("lr", []) if v > 0]
    if lrs and max(lrs) / min(lrs) > 100:
        ax_lr.set_yscale("log")
    for ax in (ax_loss, ax_acc, ax_lr, ax_speed):
        ax.set_xlabel("iteration")
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(out))
    tmp = os.path.join(directory, f".{os.path.basename(out)}.{os.getpid()}.tmp.png")
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, out)
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise MetricsError(f"{out}: cannot write: {e.strerror}")
    finally:
        plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("runs", nargs="*", help="metrics JSON-lines files, optionally path=label")
    ap.add_argument("--out", help="the PNG to write")
    ap.add_argument("--smooth", type=int, default=None,
                    help="moving-average window in lines (default: a tenth of the longest "
                         "run's training lines, at most 20)")
    ap.add_argument("--title", default="")
    ap.add_argument("--quiet", action="store_true", help="no summary on stdout")
    ap.add_argument("--check", action="store_true", help="only check that matplotlib loads")
    args = ap.parse_args()
    if args.check:
        try:
            import matplotlib  # noqa: F401
        except ImportError as e:
            print(f"plot_training: matplotlib is missing ({e}); on Debian install "
                  "python3-matplotlib", file=sys.stderr)
            return 1
        return 0
    if not args.runs or not args.out:
        ap.error("give one or more metrics files and --out FILE.png")
    if args.smooth is not None and args.smooth < 1:
        ap.error(f"--smooth must be >= 1, got {args.smooth}")
    try:
        runs = []
        for arg in args.runs:
            path, label = parse_run_arg(arg)
            runs.append((label, load_run(path)))
        smooth_window = args.smooth
        if smooth_window is None:  # few lines: little or no smoothing
            longest = max(len(run["train"].get("loss", [])) for _, run in runs)
            smooth_window = max(1, min(20, longest // 10))
        plot(runs, args.out, smooth_window, args.title)
    except MetricsError as e:
        print(f"plot_training: {e}", file=sys.stderr)
        return 1
    except ImportError as e:
        print(f"plot_training: matplotlib is missing ({e}); on Debian install python3-matplotlib",
              file=sys.stderr)
        return 1
    if not args.quiet:
        for label, run in runs:
            print(summary(label, run))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
