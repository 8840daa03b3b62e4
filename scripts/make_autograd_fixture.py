"""Writes tests/fixtures/torch_senet.safetensors and torch_senet_io.safetensors:
the PyTorch twin of examples/custom_model/model.rs (a residual block with a
squeeze-and-excitation gate, its input used on two branches) with
non-trivial batch-norm statistics, and beside it an input batch, one-hot
targets, the eval-mode output, the train-mode output, the cross-entropy
loss, every parameter's gradient ("grad.<name>") and every buffer after
the train-mode pass ("after.<name>"). tests/autograd.rs loads the
state_dict into the same wgconv structs and reproduces all of them within
1e-5.

Run by hand (CI has no PyTorch): pip install torch safetensors numpy;
python scripts/make_autograd_fixture.py. The output is committed."""

import torch
import torch.nn.functional as F
from torch import nn
from safetensors.torch import save_file


class SeBlock(nn.Module):
    def __init__(self, channels, reduction):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        s = out.mean((2, 3))
        gate = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        out = out * gate[:, :, None, None]
        return F.relu(out + x)


class SeNet(nn.Module):
    def __init__(self, channels, pixels, classes):
        super().__init__()
        self.stem = nn.Conv2d(1, channels, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.block = SeBlock(channels, 4)
        self.head = nn.Linear(channels * pixels, classes)

    def forward(self, x):
        h = F.relu(self.bn(self.stem(x)))
        h = self.block(h)
        return self.head(h.flatten(1))


torch.manual_seed(0)
model = SeNet(8, 64, 10)
# Non-trivial running statistics and affine parameters.
model.train()
with torch.no_grad():
    for _ in range(3):
        model(torch.randn(6, 1, 8, 8) * 2 + 1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.5, 0.5)
state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
x = torch.rand(5, 1, 8, 8)
labels = torch.tensor([3, 0, 7, 7, 9])
target = F.one_hot(labels, 10).float()
with torch.no_grad():
    model.eval()
    eval_out = model(x)
model.train()
out = model(x)
loss = F.cross_entropy(out, target)
loss.backward()
extra = {
    "fixture.input": x,
    "fixture.target": target,
    "fixture.eval_output": eval_out,
    "fixture.train_output": out.detach(),
    "fixture.loss": loss.detach().reshape(1),
}
for name, p in model.named_parameters():
    extra["grad." + name] = p.grad
for name, b in model.named_buffers():
    if b.dtype == torch.float32:
        extra["after." + name] = b
save_file(state, "tests/fixtures/torch_senet.safetensors")
save_file({k: v.detach().contiguous() for k, v in extra.items()},
          "tests/fixtures/torch_senet_io.safetensors")
print(sorted(state))
