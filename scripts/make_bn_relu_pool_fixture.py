"""Writes tests/fixtures/torch_bn_relu_pool.json: torch's
nn.Sequential(BatchNorm2d, ReLU, MaxPool2d(2)) in training and eval mode,
the block wgconv runs as one op (Gpu::batch_norm2d_relu_max_pool2d), on
seeded inputs quantised to quarters so that windows hold ties (the first
maximum must take the gradient), with planes of 2 to 14 columns: the
pooled output, the running statistics after the step, and the gradients
of x, weight and bias for a seeded upstream gradient. tests/batch_norm.rs
holds the CPU reference and every adapter, fused and unfused, to them.
Run by hand with PyTorch installed:

    python scripts/make_bn_relu_pool_fixture.py
"""
import json
import torch
from torch import nn

torch.manual_seed(0)
cases = []
for shape in [(2, 3, 4, 6), (3, 2, 8, 8), (2, 2, 6, 12), (1, 2, 14, 14), (9, 2, 2, 2)]:
    c = shape[1]
    for training in [True, False]:
        bn = nn.BatchNorm2d(c)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(c) + 0.5)
            bn.bias.copy_(torch.randn(c) * 0.5)
            bn.running_mean.copy_(torch.randn(c))
            bn.running_var.copy_(torch.rand(c) + 0.5)
        start = {"weight": bn.weight.tolist(), "bias": bn.bias.tolist(),
                 "running_mean": bn.running_mean.tolist(),
                 "running_var": bn.running_var.tolist()}
        block = nn.Sequential(bn, nn.ReLU(), nn.MaxPool2d(2))
        block.train(training)
        x = (torch.randn(*shape) * 4).round() / 4 + 1.0
        x.requires_grad_(True)
        y = block(x)
        dy = torch.randn_like(y)
        y.backward(dy)
        cases.append({"shape": list(shape), "training": training, **start,
                      "x": x.flatten().tolist(), "y": y.flatten().tolist(),
                      "y_shape": list(y.shape), "dy": dy.flatten().tolist(),
                      "dx": x.grad.flatten().tolist(),
                      "dweight": bn.weight.grad.tolist(), "dbias": bn.bias.grad.tolist(),
                      "running_mean_after": bn.running_mean.tolist(),
                      "running_var_after": bn.running_var.tolist()})


def short(v):
    if isinstance(v, float):
        return float("%.9g" % v)
    if isinstance(v, list):
        return [short(e) for e in v]
    if isinstance(v, dict):
        return {k: short(e) for k, e in v.items()}
    return v


with open("tests/fixtures/torch_bn_relu_pool.json", "w") as f:
    json.dump(short({"torch": torch.__version__, "cases": cases}), f)
