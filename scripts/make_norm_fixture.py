"""Writes tests/fixtures/torch_norm.json: torch's nn.GroupNorm,
nn.LayerNorm and nn.InstanceNorm2d (with and without their affine
parameters, random ones where present) on seeded inputs, with the input
and parameter gradients for a seeded upstream gradient; tests/norm.rs
holds the CPU reference and every adapter to them. Run by hand with
PyTorch installed:

    python scripts/make_norm_fixture.py
"""
import json
import torch
import torch.nn as nn

torch.manual_seed(0)
cases = []


def case(kind, module, shape, **extra):
    x = (torch.randn(*shape) * 3 + 1.5).requires_grad_()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p))
    y = module(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    c = {"kind": kind, "shape": list(shape), "eps": module.eps, "x": x.flatten().tolist(),
         "y": y.flatten().tolist(), "dy": dy.flatten().tolist(),
         "dx": x.grad.flatten().tolist()}
    for name, p in module.named_parameters():
        c[name] = p.flatten().tolist()
        c["d" + name] = p.grad.flatten().tolist()
    c.update(extra)
    cases.append(c)


case("group", nn.GroupNorm(2, 6), (2, 6, 3, 5), groups=2)
case("group", nn.GroupNorm(3, 3, eps=1e-3, affine=False), (3, 3, 7), groups=3)
case("group", nn.GroupNorm(1, 4), (1, 4, 5, 5), groups=1)
# One value per group: y is the bias (eps large enough that torch's own
# rounding, amplified by 1/sqrt(eps), stays far below the tolerance).
case("group", nn.GroupNorm(4, 4, eps=0.1), (2, 4, 1, 1), groups=4)
case("group", nn.GroupNorm(2, 8), (1, 8, 6, 6), groups=2)
case("layer", nn.LayerNorm([5]), (4, 5), normalized_shape=[5])
case("layer", nn.LayerNorm([3, 4, 4]), (2, 3, 4, 4), normalized_shape=[3, 4, 4])
case("layer", nn.LayerNorm([7], bias=False), (2, 3, 7), normalized_shape=[7])
case("layer", nn.LayerNorm([6, 2], elementwise_affine=False, eps=1e-6), (3, 6, 2),
     normalized_shape=[6, 2])
case("layer", nn.LayerNorm([100]), (2, 100), normalized_shape=[100])
case("instance", nn.InstanceNorm2d(3), (2, 3, 5, 4))
case("instance", nn.InstanceNorm2d(2, affine=True), (2, 2, 5, 7))
case("instance", nn.InstanceNorm2d(1, affine=True), (1, 1, 1, 2))


# nn.InstanceNorm2d(track_running_stats=True): two training passes move the
# running statistics (x1, x2), then eval mode normalises x3 with them; the
# gradients are eval mode's.
tracking = []


def tracking_case(module, shape):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p))
    xs = [torch.randn(*shape) * 2 + 0.5 for _ in range(3)]
    module.train()
    ys = [module(x) for x in xs[:2]]
    c = {"shape": list(shape), "eps": module.eps, "momentum": module.momentum,
         "x": [x.flatten().tolist() for x in xs], "y_train": [y.flatten().tolist() for y in ys],
         "running_mean": module.running_mean.tolist(), "running_var": module.running_var.tolist(),
         "num_batches_tracked": int(module.num_batches_tracked)}
    module.eval()
    x3 = xs[2].requires_grad_()
    y = module(x3)
    dy = torch.randn_like(y)
    y.backward(dy)
    c.update({"y": y.flatten().tolist(), "dy": dy.flatten().tolist(), "dx": x3.grad.flatten().tolist()})
    for name, p in module.named_parameters():
        c[name] = p.flatten().tolist()
        c["d" + name] = p.grad.flatten().tolist()
    c["state_dict"] = list(module.state_dict().keys())
    tracking.append(c)


tracking_case(nn.InstanceNorm2d(3, track_running_stats=True), (2, 3, 4, 5))
tracking_case(nn.InstanceNorm2d(2, momentum=0.3, affine=True, track_running_stats=True), (3, 2, 3, 3))
tracking_case(nn.InstanceNorm2d(4, eps=1e-3, affine=True, track_running_stats=True), (1, 4, 1, 2))


def short(v):
    if isinstance(v, float):
        return float("%.9g" % v)
    if isinstance(v, list):
        return [short(e) for e in v]
    if isinstance(v, dict):
        return {k: short(e) for k, e in v.items()}
    return v


with open("tests/fixtures/torch_norm.json", "w") as f:
    json.dump(short({"torch": torch.__version__, "cases": cases, "tracking": tracking}), f)
