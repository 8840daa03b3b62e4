"""Writes tests/fixtures/torch_cross_entropy.json: torch's
CrossEntropyLoss with class-index targets (plain; class weights;
ignore_index; label smoothing; all three) and NLLLoss with weights, the
loss and the logits' (or log-probabilities') gradient; tests/losses.rs
holds the CPU reference and every adapter to them. Run by hand with
PyTorch installed:

    python scripts/make_cross_entropy_fixture.py
"""
import json
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
n, c = 7, 5
weight = torch.tensor([0.5, 1.0, 2.0, 0.25, 1.5])
cases = []
for name, kw, nll in [
    ("plain", {}, False),
    ("weight", {"weight": weight}, False),
    ("ignore", {"ignore_index": 3}, False),
    ("smoothing", {"label_smoothing": 0.1}, False),
    ("all", {"weight": weight, "ignore_index": -100, "label_smoothing": 0.2}, False),
    ("nll_weight", {"weight": weight}, True),
]:
    x = (torch.randn(n, c) * 3.0)
    if nll:
        x = F.log_softmax(x, 1)
    x = x.detach().requires_grad_(True)
    t = torch.randint(0, c, (n,))
    if name == "all":
        t[2] = -100
    loss = (nn.NLLLoss(**kw) if nll else nn.CrossEntropyLoss(**kw))(x, t)
    loss.backward()
    cases.append({"name": name, "x": x.detach().flatten().tolist(), "t": t.tolist(),
                  "weight": kw["weight"].tolist() if "weight" in kw else None,
                  "ignore_index": kw.get("ignore_index", -100),
                  "label_smoothing": kw.get("label_smoothing", 0.0), "nll": nll,
                  "loss": loss.item(), "dx": x.grad.flatten().tolist()})

def short(v):
    if isinstance(v, float):
        return float("%.9g" % v)
    if isinstance(v, list):
        return [short(e) for e in v]
    if isinstance(v, dict):
        return {k: short(e) for k, e in v.items()}
    return v
with open("tests/fixtures/torch_cross_entropy.json", "w") as f:
    json.dump(short({"torch": torch.__version__, "n": n, "c": c, "cases": cases}), f)
