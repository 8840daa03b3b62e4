"""Writes tests/fixtures/torch_resize.json: torch's bilinear resize with
antialias (torchvision's Resize on tensors) of seeded images, down and up,
at integer and fractional scales; tests/transforms.rs holds wgconv's
`resize` to it. Run by hand with PyTorch installed:

    python scripts/make_transform_fixture.py
"""
import json
import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []
for (c, h, w), (th, tw) in [
    ((1, 4, 4), (2, 2)),
    ((1, 5, 7), (3, 4)),
    ((1, 5, 7), (8, 11)),
    ((3, 9, 6), (4, 5)),
    ((2, 3, 10), (7, 3)),
    ((1, 28, 28), (14, 20)),
]:
    x = torch.rand(1, c, h, w)
    y = F.interpolate(x, size=(th, tw), mode="bilinear", antialias=True, align_corners=False)
    cases.append({
        "shape": [c, h, w],
        "size": [th, tw],
        "input": x.flatten().tolist(),
        "output": y.flatten().tolist(),
    })
with open("tests/fixtures/torch_resize.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
