"""wgconv's training step against PyTorch's on the same CPU, alternated in
short bursts: `wgconv bench --suite train` and `torch_train_bench.py`
take turns (A B A B ...), each timing --reps steps of one model, and each
pair of neighbouring bursts gives a ratio. On a shared VM whose speed
moves 2x from one minute to the next, a ratio of two bursts a few seconds
apart says more than two long runs minutes apart; the median of the
ratios, and how many of them are under the --target, are what the README
quotes.

Run by hand (CI has no PyTorch), with the adapter chosen as for any
wgconv command, e.g.:

    WGPU_BACKEND=vulkan /tmp/tv/bin/python scripts/train_ratio.py \\
        --wgconv target/release/wgconv --rounds 8 --reps 10
"""

import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# "  step 123.5 ms (median of 30, 112.5..176.7), 1036 images/s"
WGCONV_STEP = re.compile(r"^\s+step ([0-9.]+) ms \(median of \d+, ([0-9.]+)\.\.")
# " fashion  batch  128   421738 parameters  step    85.19 ms (70.83..103.02)"
TORCH_STEP = re.compile(r"^\s*(\w+)\s+batch.*step\s+([0-9.]+) ms \(([0-9.]+)\.\.")


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def wgconv_step(args):
    out = run([args.wgconv, "bench", "--suite", "train", "--models", args.model,
               "--reps", str(args.reps)])
    steps = [m for m in map(WGCONV_STEP.match, out.splitlines()) if m]
    if not steps:
        sys.exit(f"no step line in wgconv's output:\n{out[-2000:]}")
    # One line per adapter; the first is the one the environment chose.
    return float(steps[0].group(1)), float(steps[0].group(2))


def torch_step(args):
    out = run([sys.executable, os.path.join(HERE, "torch_train_bench.py"), "--threads",
               str(args.threads), "--reps", str(args.reps), "--models", args.model])
    for m in map(TORCH_STEP.match, out.splitlines()):
        if m and m.group(1) == args.model:
            return float(m.group(2)), float(m.group(3))
    sys.exit(f"no {args.model} line in PyTorch's output:\n{out[-2000:]}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--wgconv", default="target/release/wgconv")
    p.add_argument("--model", default="fashion", choices=["fashion", "digits"])
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--target", type=float, default=2.0)
    args = p.parse_args()

    print("round  wgconv ms (min)    PyTorch ms (min)   ratio")
    ratios, mins = [], []
    for r in range(1, args.rounds + 1):
        w, w_min = wgconv_step(args)
        t, t_min = torch_step(args)
        ratios.append(w / t)
        mins.append((w_min, t_min))
        print(f"{r:5}  {w:8.1f} ({w_min:6.1f})  {t:8.1f} ({t_min:6.1f})  {w / t:5.2f}", flush=True)
    under = sum(x <= args.target for x in ratios)
    print(f"median ratio {statistics.median(ratios):.2f} "
          f"(range {min(ratios):.2f}-{max(ratios):.2f}), "
          f"{under} of {len(ratios)} at or under {args.target}x; "
          f"minima {min(m[0] for m in mins):.1f} / {min(m[1] for m in mins):.1f} ms "
          f"= {min(m[0] for m in mins) / min(m[1] for m in mins):.2f}")


if __name__ == "__main__":
    main()
