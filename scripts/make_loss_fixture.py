"""Writes tests/fixtures/torch_losses.json: torch's L1Loss,
SmoothL1Loss (beta 1, 0.5 and 0) and BCEWithLogitsLoss (with and without
pos_weight, logits up to ±40) of seeded inputs, with the prediction's
gradient; tests/losses.rs holds the CPU reference and every adapter to
them. Run by hand with PyTorch installed:

    python scripts/make_loss_fixture.py
"""
import json
import torch
import torch.nn as nn

torch.manual_seed(0)
cases = []
shape = (6, 5)
for name, make, targets in [
    ("l1", lambda: nn.L1Loss(), "real"),
    ("smooth_l1_1", lambda: nn.SmoothL1Loss(beta=1.0), "real"),
    ("smooth_l1_0.5", lambda: nn.SmoothL1Loss(beta=0.5), "real"),
    ("smooth_l1_0", lambda: nn.SmoothL1Loss(beta=0.0), "real"),
    ("bce", lambda: nn.BCEWithLogitsLoss(), "prob"),
    ("bce_pos_weight", lambda: nn.BCEWithLogitsLoss(pos_weight=torch.tensor([0.5, 1.0, 2.0, 3.0, 0.25])), "prob"),
]:
    y = (torch.randn(*shape) * 3.0)
    y[0, 0] = 40.0
    y[0, 1] = -40.0
    y = y.requires_grad_(True)
    t = torch.rand(*shape) if targets == "prob" else torch.randn(*shape)
    loss = make()(y, t)
    loss.backward()
    cases.append({"name": name, "shape": list(shape), "y": y.detach().flatten().tolist(),
                  "t": t.flatten().tolist(), "loss": loss.item(), "dy": y.grad.flatten().tolist()})

def short(v):
    if isinstance(v, float):
        return float("%.9g" % v)
    if isinstance(v, list):
        return [short(e) for e in v]
    if isinstance(v, dict):
        return {k: short(e) for k, e in v.items()}
    return v
with open("tests/fixtures/torch_losses.json", "w") as f:
    json.dump(short({"torch": torch.__version__, "cases": cases}), f)
