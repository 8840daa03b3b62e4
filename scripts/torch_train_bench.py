"""PyTorch on the CPU beside `wgconv bench --suite train`: the same models
(train::Preset, layer by layer as the README documents them), the same
batch and optimizer, each step timed as wgconv times it: tensors made from
host arrays, forward, loss, backward, optimizer step, the loss read back.
Median of --reps steps after 3 warm-up steps. With --train it also runs
the Fashion-MNIST recipe end to end (10 epochs, AdamW, one-cycle without
momentum cycling, as wgconv's) and prints the test accuracy and the time.

Run by hand, on the same machine and in the same session as wgconv's
bench (CI has no PyTorch):

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch numpy
    /tmp/tv/bin/python scripts/torch_train_bench.py --threads 2 [--train]
"""

import argparse
import gzip
import json
import statistics
import struct
import time

import numpy as np
import torch
from torch import nn

FASHION = "/usr/share/datasets/fashion-mnist"


def digits_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )


def fashion_model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, 10),
    )


MODELS = {
    # name: (builder, image side, batch, optimizer factory)
    "digits": (digits_model, 8, 32, lambda p: torch.optim.Adam(p, lr=2e-3)),
    "fashion": (
        fashion_model,
        28,
        128,
        lambda p: torch.optim.AdamW(p, lr=3e-3, weight_decay=5e-4),
    ),
}


def step_times(name, reps):
    build, side, batch, make_opt = MODELS[name]
    torch.manual_seed(1)
    model = build()
    model.train()
    opt = make_opt(model.parameters())
    rng = np.random.default_rng(7)
    x_host = rng.random((batch, 1, side, side), dtype=np.float32)
    y_host = (np.arange(batch) * 7 + 3) % 10
    times = []
    for i in range(3 + reps):
        start = time.perf_counter()
        x = torch.from_numpy(x_host.copy())
        y = torch.from_numpy(y_host.copy())
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if i >= 3:
            times.append((time.perf_counter() - start) * 1e3)
    params = sum(p.numel() for p in model.parameters())
    ms = statistics.median(times)
    return {
        "model": name,
        "batch": batch,
        "parameters": params,
        "step_ms": ms,
        "min_ms": min(times),
        "max_ms": max(times),
        "images_per_second": batch / (ms / 1e3),
    }


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def train_fashion(epochs):
    load = lambda part: (
        torch.from_numpy(idx(f"{FASHION}/{part}-images-idx3-ubyte.gz").astype(np.float32) / 255.0).unsqueeze(1),
        torch.from_numpy(idx(f"{FASHION}/{part}-labels-idx1-ubyte.gz").astype(np.int64)),
    )
    (xtr, ytr), (xte, yte) = load("train"), load("t10k")
    torch.manual_seed(1)
    model = fashion_model()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    steps = (len(xtr) + 127) // 128
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=3e-3, total_steps=epochs * steps, cycle_momentum=False
    )
    g = torch.Generator().manual_seed(1)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(xtr), generator=g)
        for i in range(steps):
            b = order[i * 128 : (i + 1) * 128]
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(xtr[b]), ytr[b]).backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            right = sum(
                (model(xte[i : i + 500]).argmax(1) == yte[i : i + 500]).sum().item()
                for i in range(0, len(xte), 500)
            )
        print(
            f"epoch {epoch:>2}  test accuracy {100 * right / len(xte):.2f} %  "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--models", default="digits,fashion")
    ap.add_argument("--json")
    ap.add_argument("--train", action="store_true", help="also the 10-epoch Fashion run")
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"PyTorch {torch.__version__}, CPU, {torch.get_num_threads()} thread(s)")
    rows = [step_times(m, args.reps) for m in args.models.split(",")]
    for r in rows:
        print(
            f"{r['model']:>8}  batch {r['batch']:>4}  {r['parameters']:>7} parameters  "
            f"step {r['step_ms']:8.2f} ms ({r['min_ms']:.2f}..{r['max_ms']:.2f})  "
            f"{r['images_per_second']:8.0f} images/s"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    if args.train:
        train_fashion(args.epochs)


if __name__ == "__main__":
    main()
