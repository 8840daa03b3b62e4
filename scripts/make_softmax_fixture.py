"""Writes tests/fixtures/torch_softmax.json: torch's softmax and
log_softmax of seeded inputs along every axis of a few shapes (large
logits and a row of equal values included), with the input gradients for
a seeded upstream gradient; tests/softmax.rs holds the CPU reference and
every adapter to them. Run by hand with PyTorch installed:

    python scripts/make_softmax_fixture.py
"""
import json
import torch

torch.manual_seed(0)
cases = []
for shape in [(3, 5), (2, 3, 4), (2, 2, 3, 3), (1, 7)]:
    base = torch.randn(*shape) * 4.0
    base.view(-1)[0] = 60.0  # large logits stay finite
    for dim in range(len(shape)):
        for log in (False, True):
            x = base.clone().requires_grad_(True)
            y = torch.log_softmax(x, dim) if log else torch.softmax(x, dim)
            dy = torch.randn_like(y)
            y.backward(dy)
            cases.append({"shape": list(shape), "dim": dim, "log": log,
                          "x": x.detach().flatten().tolist(), "y": y.detach().flatten().tolist(),
                          "dy": dy.flatten().tolist(), "dx": x.grad.flatten().tolist()})

def short(v):
    if isinstance(v, float):
        return float("%.9g" % v)
    if isinstance(v, list):
        return [short(e) for e in v]
    if isinstance(v, dict):
        return {k: short(e) for k, e in v.items()}
    return v
with open("tests/fixtures/torch_softmax.json", "w") as f:
    json.dump(short({"torch": torch.__version__, "cases": cases}), f)
