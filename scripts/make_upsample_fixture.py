"""Writes tests/fixtures/torch_upsample.json: torch's F.interpolate
(nearest; bilinear with align_corners False and True) of seeded inputs,
by size and by scale factor, up and down, with the input gradient for a
seeded upstream gradient; tests/upsample.rs holds the CPU reference and
every adapter to them. Run by hand with PyTorch installed:

    python scripts/make_upsample_fixture.py
"""
import json
import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []
for shape, size, factor in [
    ((1, 1, 3, 4), (6, 8), None),
    ((1, 2, 5, 3), (7, 11), None),
    ((1, 1, 8, 6), (3, 4), None),
    ((1, 1, 4, 4), None, (2.0, 2.0)),
    ((1, 1, 5, 7), None, (1.5, 2.5)),
    ((1, 2, 6, 5), None, (0.5, 0.7)),
    ((1, 1, 1, 3), (1, 5), None),
]:
    for mode, align in [("nearest", None), ("bilinear", False), ("bilinear", True)]:
        x = torch.randn(*shape, requires_grad=True)
        kw = {"mode": mode}
        if align is not None:
            kw["align_corners"] = align
        if size is not None:
            y = F.interpolate(x, size=size, **kw)
        else:
            y = F.interpolate(x, scale_factor=factor, **kw)
        dy = torch.randn_like(y)
        y.backward(dy)
        cases.append({
            "shape": list(shape), "size": list(size) if size else None,
            "factor": list(factor) if factor else None, "mode": mode, "align_corners": align,
            "x": x.flatten().tolist(), "y_shape": list(y.shape), "y": y.flatten().tolist(),
            "dy": dy.flatten().tolist(), "dx": x.grad.flatten().tolist(),
        })

def short(v):
    if isinstance(v, float):
        return float("%.9g" % v)
    if isinstance(v, list):
        return [short(e) for e in v]
    if isinstance(v, dict):
        return {k: short(e) for k, e in v.items()}
    return v
with open("tests/fixtures/torch_upsample.json", "w") as f:
    json.dump(short({"torch": torch.__version__, "cases": cases}), f)
