"""Writes tests/fixtures/torch_block.safetensors: a small PyTorch model's
state_dict (conv-BN-ReLU, a torchvision-style BasicBlock with a projection
shortcut, global average pooling, linear) and, beside it, an input batch
and the model's outputs in eval and in train mode, with the running
statistics after the train-mode pass. tests/models.rs loads the
state_dict into the same wgconv model and reproduces them within 1e-5.

Run by hand (CI has no PyTorch): pip install torch safetensors numpy;
python scripts/make_torch_fixture.py. The output is committed."""

import torch
from torch import nn
from safetensors.torch import save_file


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock, names and all."""

    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1, bias=False),
    nn.BatchNorm2d(4),
    nn.ReLU(),
    BasicBlock(4, 8, 2),
    nn.AdaptiveAvgPool2d(1),
    nn.Flatten(),
    nn.Linear(8, 3),
)
# Non-trivial running statistics and affine parameters.
model.train()
with torch.no_grad():
    for _ in range(3):
        model(torch.randn(4, 1, 9, 9) * 2 + 1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.5, 0.5)
state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
x = torch.randn(5, 1, 9, 9)
with torch.no_grad():
    model.eval()
    eval_out = model(x)
    model.train()
    train_out = model(x)
extra = {
    "fixture.input": x,
    "fixture.eval_output": eval_out,
    "fixture.train_output": train_out,
    "fixture.train_running_mean": model[3].bn2.running_mean.clone(),
    "fixture.train_running_var": model[3].bn2.running_var.clone(),
}
save_file(state, "tests/fixtures/torch_block.safetensors")
save_file({k: v.contiguous() for k, v in extra.items()}, "tests/fixtures/torch_block_io.safetensors")
print(sorted(state))
