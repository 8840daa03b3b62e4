"""Writes tests/fixtures/torch_zoo.json: for each zoo model built by
torchvision (resnet18, resnet34, resnet50, vgg11_bn, mobilenet_v2, with
num_classes=10 and dropout 0) and for the U-Net twin below, the
state_dict's keys and shapes, and in float64, on a 2x3x64x64 input (1
channel for the U-Net): the train-mode output, the cross-entropy loss
(MSE for the U-Net), every parameter's gradient, the running statistics
after that pass and the eval-mode output that uses them; from fresh
weights, on a 2x3x32x32 input, the eval-mode output, loss and gradients;
and how far PyTorch's own float32 train step lands from its float64 one.

The weights are not stored: every state_dict entry and the input come
from a counter hash both sides compute (`values` below; tests/zoo.rs has
the same function), and the gradients and statistics are stored as
summaries (sum of squares, largest magnitude, and values at hashed
positions), so the file stays small. Run by hand with PyTorch and
torchvision installed:

    python scripts/make_zoo_fixture.py
    python scripts/make_zoo_fixture.py --check FILE.safetensors MODEL

The second form loads a state_dict that wgconv saved (tests/zoo.rs
writes one per model under target/zoo/ when WGCONV_ZOO_EXPORT=1) into
the torchvision model strictly.
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def fnv(name):
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) % 2**32
    return h


def values(name, shape):
    """The entry `name` of `shape`: a counter hash mapped by the entry's
    kind (fan-in scaled weights, batch-norm weights near 1, small biases
    and means, variances in [1, 1.5)), computed in float64 and rounded to
    float32 on both sides, bit for bit."""
    n = int(np.prod(shape)) if len(shape) else 1
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(2654435761) + np.uint64(fnv(name))) % np.uint64(2**32)
    u = h.astype(np.float64) / 4294967296.0
    s = 2.0 * u - 1.0
    if name.endswith("running_var"):
        v = 1.0 + 0.5 * u
    elif name.endswith("running_mean") or name.endswith("bias"):
        v = 0.1 * s
    elif name.endswith("num_batches_tracked"):
        v = np.zeros(n)
    elif name in ("input", "target"):
        v = s
    elif len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        v = s * math.sqrt(6.0 / fan_in)
    else:
        v = 1.0 + 0.2 * s
    return v.astype(np.float32).reshape(shape)


def summary(name, t):
    """Sum of squares, largest magnitude, and 4 values at hashed positions."""
    flat = t.detach().double().flatten()
    n = flat.numel()
    at = [(fnv(name) + j * 7919) % n for j in range(4)]
    return {"sumsq": float((flat * flat).sum()), "max_abs": float(flat.abs().max()),
            "at": at, "values": [float(flat[k]) for k in at]}


class UNet(nn.Module):
    """tests/zoo.rs's UNet::new(init, 1, 1, base=4, depth=2), by hand."""

    def __init__(self, cin=1, cout=1, base=4, depth=2):
        super().__init__()

        def double(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(o, o, 3, padding=1), nn.ReLU())
        self.encoder = nn.ModuleList()
        c = cin
        for level in range(depth + 1):
            self.encoder.append(double(c, base << level))
            c = base << level
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for level in reversed(range(depth)):
            c = base << level
            self.up.append(nn.ConvTranspose2d(2 * c, c, 2, stride=2))
            self.decoder.append(double(2 * c, c))
        self.head = nn.Conv2d(base, cout, 1)

    def forward(self, x):
        skips = []
        for level, enc in enumerate(self.encoder):
            if level > 0:
                x = F.max_pool2d(x, 2)
            x = enc(x)
            skips.append(x)
        skips.pop()
        for up, dec in zip(self.up, self.decoder):
            x = dec(torch.cat([skips.pop(), up(x)], 1))
        return self.head(x)


def models():
    tv = torchvision.models
    return {
        "resnet18": lambda: tv.resnet18(num_classes=10),
        "resnet34": lambda: tv.resnet34(num_classes=10),
        "resnet50": lambda: tv.resnet50(num_classes=10),
        "vgg11_bn": lambda: tv.vgg11_bn(num_classes=10, dropout=0.0),
        "mobilenet_v2": lambda: tv.mobilenet_v2(num_classes=10, dropout=0.0),
        "unet": lambda: UNet(),
    }


# Train mode runs on 64x64 inputs: at 32x32 the last ResNet stage
# normalises 2 values per channel (batch 2 of 1x1 maps), so ill-conditioned
# that even two float64 computations part by more than 1e-5.
TRAIN_SIDE = 64
EVAL_SIDE = 32


def load(name, dtype):
    model = models()[name]()
    sd = model.state_dict()
    keys = [[k, list(v.shape)] for k, v in sd.items()]
    model.load_state_dict({k: torch.from_numpy(values(k, list(v.shape))).to(v.dtype)
                           for k, v in sd.items()}, strict=True)
    return keys, model.to(dtype)


def step(name, model, dtype, train):
    """The forward pass in train or eval mode, the loss and its backward."""
    cin = 1 if name == "unet" else 3
    side = TRAIN_SIDE if train else EVAL_SIDE
    x = torch.from_numpy(values("input", [2, cin, side, side])).to(dtype)
    model.train(train)
    y = model(x)
    if name == "unet":
        target = torch.from_numpy(values("target", [2, 1, side, side])).to(dtype)
        loss = F.mse_loss(y, target)
    else:
        loss = F.cross_entropy(y, torch.tensor([3, 7]))
    loss.backward()
    return x, y, loss


def outputs(name, y):
    if name == "unet":
        return summary("y", y)
    return y.detach().flatten().tolist()


def case(name):
    """Train mode (batch statistics, running statistics moved, then the
    eval pass that uses them) and, from fresh weights, eval mode."""
    keys, model = load(name, torch.float64)
    x, y, loss = step(name, model, torch.float64, True)
    train = {"y": outputs(name, y), "loss": loss.item(),
             "grads": {k: summary(k, p.grad) for k, p in model.named_parameters()},
             "buffers": {k: summary(k, b) for k, b in model.named_buffers()
                         if not k.endswith("num_batches_tracked")}}
    model.eval()
    with torch.no_grad():
        train["y_eval"] = outputs(name, model(x))
    grads64 = {k: p.grad.clone() for k, p in model.named_parameters()}
    _, model32 = load(name, torch.float32)
    _, y32, _ = step(name, model32, torch.float32, True)
    # How far PyTorch's own float32 train step lands from float64 (largest
    # error over max(1, max|ref|), outputs and gradients): a batch of 2
    # through batch norms over a few values is ill-conditioned.
    deviation = max([((y32.double() - y).abs().max() / max(1.0, y.abs().max())).item()] +
                    [((p.grad.double() - grads64[k]).abs().max() /
                      max(1.0, grads64[k].abs().max())).item()
                     for k, p in model32.named_parameters()])
    _, model = load(name, torch.float64)
    _, y, loss = step(name, model, torch.float64, False)
    evaluation = {"y": outputs(name, y), "loss": loss.item(),
                  "grads": {k: summary(k, p.grad) for k, p in model.named_parameters()}}
    return {"keys": keys, "train": train, "eval": evaluation,
            "torch_f32_train_deviation": deviation}


def short(v):
    if isinstance(v, float):
        return float("%.10g" % v)
    if isinstance(v, list):
        return [short(e) for e in v]
    if isinstance(v, dict):
        return {k: short(e) for k, e in v.items()}
    return v


def check(path, name):
    from safetensors.torch import load_file
    model = models()[name]()
    model.load_state_dict(load_file(path), strict=True)
    print(f"{path}: loads strictly into torchvision's {name}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"]:
        check(sys.argv[2], sys.argv[3])
        sys.exit(0)
    torch.manual_seed(0)
    fixture = {"torch": torch.__version__, "torchvision": torchvision.__version__,
               "models": {name: case(name) for name in models()}}
    with open("tests/fixtures/torch_zoo.json", "w") as f:
        json.dump(short(fixture), f)
