"""Writes tests/fixtures/torch_pool.json: torch's F.max_pool2d and
F.avg_pool2d in ceil mode and, for the average, without the padding in
the divisor (count_include_pad=False), on seeded inputs with odd sizes,
padding and overlapping windows, with the input gradient for a seeded
upstream gradient; tests/nn_ops.rs holds the CPU reference and every
adapter to them. Run by hand with PyTorch installed:

    python scripts/make_pool_fixture.py
"""
import json
import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []
for op in ["max", "avg"]:
    for shape, k, s, p, ceil, include in [
        ((1, 2, 7, 7), (2, 2), (2, 2), (0, 0), True, True),
        ((2, 1, 5, 8), (3, 3), (2, 2), (1, 1), True, True),
        ((1, 1, 6, 9), (3, 2), (2, 3), (1, 1), False, False),
        ((1, 2, 7, 5), (3, 3), (2, 2), (1, 1), True, False),
        ((1, 1, 4, 4), (2, 3), (3, 2), (1, 1), True, False),
        ((1, 1, 9, 10), (3, 3), (3, 3), (0, 1), True, True),
    ]:
        x = torch.randn(*shape, requires_grad=True)
        if op == "max":
            y = F.max_pool2d(x, k, s, p, ceil_mode=ceil)
        else:
            y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=include)
        dy = torch.randn_like(y)
        y.backward(dy)
        cases.append({"op": op, "shape": list(shape), "kernel": list(k), "stride": list(s),
                      "padding": list(p), "ceil_mode": ceil, "count_include_pad": include,
                      "x": x.flatten().tolist(), "y": y.flatten().tolist(),
                      "y_shape": list(y.shape), "dy": dy.flatten().tolist(),
                      "dx": x.grad.flatten().tolist()})


def short(v):
    if isinstance(v, float):
        return float("%.9g" % v)
    if isinstance(v, list):
        return [short(e) for e in v]
    if isinstance(v, dict):
        return {k: short(e) for k, e in v.items()}
    return v


with open("tests/fixtures/torch_pool.json", "w") as f:
    json.dump(short({"torch": torch.__version__, "cases": cases}), f)
