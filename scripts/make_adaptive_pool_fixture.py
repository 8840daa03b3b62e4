"""Writes tests/fixtures/torch_adaptive_avg_pool.json and
torch_adaptive_max_pool.json: torch's F.adaptive_avg_pool2d and
F.adaptive_max_pool2d of seeded inputs to output sizes that divide the
input, that do not (overlapping windows), and that are larger than it
(for max pooling also inputs of few distinct values: ties), with the
input gradient for a seeded upstream gradient;
tests/adaptive_pool.rs holds the CPU reference and every adapter to them.
Run by hand with PyTorch installed:

    python scripts/make_adaptive_pool_fixture.py
"""
import json
import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []
for shape, size in [
    ((1, 2, 8, 8), (4, 4)),
    ((2, 1, 7, 5), (3, 2)),
    ((1, 1, 10, 9), (7, 7)),
    ((1, 2, 3, 4), (5, 6)),
    ((1, 1, 14, 14), (7, 7)),
    ((1, 1, 6, 1), (4, 1)),
]:
    x = torch.randn(*shape, requires_grad=True)
    y = F.adaptive_avg_pool2d(x, size)
    dy = torch.randn_like(y)
    y.backward(dy)
    cases.append({"shape": list(shape), "size": list(size), "x": x.flatten().tolist(),
                  "y": y.flatten().tolist(), "dy": dy.flatten().tolist(),
                  "dx": x.grad.flatten().tolist()})

def short(v):
    if isinstance(v, float):
        return float("%.9g" % v)
    if isinstance(v, list):
        return [short(e) for e in v]
    if isinstance(v, dict):
        return {k: short(e) for k, e in v.items()}
    return v
with open("tests/fixtures/torch_adaptive_avg_pool.json", "w") as f:
    json.dump(short({"torch": torch.__version__, "cases": cases}), f)

max_cases = []
for shape, size, ties in [
    ((1, 2, 8, 8), (4, 4), False),
    ((2, 1, 7, 5), (3, 2), False),
    ((1, 1, 10, 9), (7, 7), False),
    ((1, 2, 3, 4), (5, 6), False),
    ((1, 1, 9, 11), (4, 5), True),
    ((1, 1, 6, 1), (4, 1), True),
]:
    x = torch.randn(*shape)
    if ties:
        x = torch.randint(0, 3, shape).float()
    x.requires_grad_()
    y = F.adaptive_max_pool2d(x, size)
    dy = torch.randn_like(y)
    y.backward(dy)
    max_cases.append({"shape": list(shape), "size": list(size), "x": x.flatten().tolist(),
                      "y": y.flatten().tolist(), "dy": dy.flatten().tolist(),
                      "dx": x.grad.flatten().tolist()})
with open("tests/fixtures/torch_adaptive_max_pool.json", "w") as f:
    json.dump(short({"torch": torch.__version__, "cases": max_cases}), f)
