"""Writes tests/fixtures/torch_activations.json: torch's forward values and
input gradients of every activation of wgconv::Activation on a seeded
input that includes each function's kinks (0, ±3, 6), large values and
tiny ones; tests/activations.rs holds the CPU reference and every adapter
to them. Run by hand with PyTorch installed:

    python scripts/make_activation_fixture.py
"""
import json
import torch
import torch.nn as nn

torch.manual_seed(0)
special = [0.0, -0.0, 3.0, -3.0, 6.0, -6.0, 1e-4, -1e-4, 2.9999, -2.9999, 30.0, -30.0, 0.5, -0.5]
x = torch.cat([torch.tensor(special), torch.randn(93) * 4.0]).double().float()
dy = torch.randn(x.numel())
cases = []
for name, module in [
    ("relu6", nn.ReLU6()),
    ("leaky_relu", nn.LeakyReLU(0.1)),
    ("elu", nn.ELU(0.7)),
    ("gelu", nn.GELU()),
    ("gelu_tanh", nn.GELU(approximate="tanh")),
    ("silu", nn.SiLU()),
    ("hardswish", nn.Hardswish()),
    ("hardsigmoid", nn.Hardsigmoid()),
    ("tanh", nn.Tanh()),
]:
    xi = x.clone().requires_grad_(True)
    y = module(xi)
    y.backward(dy)
    cases.append({"name": name, "y": y.detach().tolist(), "dx": xi.grad.tolist()})
with open("tests/fixtures/torch_activations.json", "w") as f:
    json.dump({"torch": torch.__version__, "x": x.tolist(), "dy": dy.tolist(), "cases": cases}, f)
