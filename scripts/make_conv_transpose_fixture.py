"""Writes tests/fixtures/torch_conv_transpose.json: torch's
F.conv_transpose2d outputs and gradients (input, weight, bias) for seeded
inputs over geometries with stride, padding, output_padding, groups,
dilation and no bias; tests/conv_transpose.rs holds wgconv's CPU reference
and every adapter to them. Run by hand with PyTorch installed:

    python scripts/make_conv_transpose_fixture.py
"""
import json
import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []
# (n, c_in, h, w, c_out, (kh, kw), stride, padding, output_padding, groups, dilation, bias)
for n, cin, h, w, cout, k, s, p, op, g, d, bias in [
    (1, 1, 3, 3, 1, (3, 3), (1, 1), (0, 0), (0, 0), 1, (1, 1), True),
    (2, 3, 4, 5, 2, (3, 3), (2, 2), (1, 1), (1, 1), 1, (1, 1), True),
    (1, 4, 3, 3, 6, (2, 2), (2, 2), (0, 0), (0, 0), 2, (1, 1), False),
    (2, 2, 5, 4, 3, (3, 2), (1, 2), (1, 0), (0, 1), 1, (2, 1), True),
    (1, 6, 2, 3, 6, (3, 3), (3, 2), (2, 1), (2, 1), 3, (1, 2), True),
    (1, 4, 4, 4, 2, (4, 4), (2, 2), (1, 1), (0, 0), 1, (1, 1), True),
]:
    x = torch.randn(n, cin, h, w, requires_grad=True)
    wt = torch.randn(cin, cout // g, *k, requires_grad=True)
    b = torch.randn(cout, requires_grad=True) if bias else None
    y = F.conv_transpose2d(x, wt, b, stride=s, padding=p, output_padding=op, groups=g, dilation=d)
    dy = torch.randn_like(y)
    y.backward(dy)
    cases.append({
        "x_shape": list(x.shape), "w_shape": list(wt.shape), "y_shape": list(y.shape),
        "stride": list(s), "padding": list(p), "output_padding": list(op), "groups": g,
        "dilation": list(d),
        "x": x.flatten().tolist(), "w": wt.flatten().tolist(),
        "b": b.tolist() if bias else None,
        "y": y.flatten().tolist(), "dy": dy.flatten().tolist(),
        "dx": x.grad.flatten().tolist(), "dw": wt.grad.flatten().tolist(),
        "db": b.grad.tolist() if bias else None,
    })
# f32 values to 9 significant digits: exact, and half the characters.
def short(v):
    if isinstance(v, float):
        return float("%.9g" % v)
    if isinstance(v, list):
        return [short(e) for e in v]
    if isinstance(v, dict):
        return {k: short(e) for k, e in v.items()}
    return v
with open("tests/fixtures/torch_conv_transpose.json", "w") as f:
    json.dump(short({"torch": torch.__version__, "cases": cases}), f)
