"""The two models of the gradient-inversion literature that the federated benchmark uses.

- ``dlg_lenet``: the LeNet variant of Zhu, Liu and Han, "Deep Leakage from Gradients"
  (NeurIPS 2019), reference code ``mit-han-lab/dlg``: three 5x5 convolutions with 12 channels
  (strides 2, 2, 1, padding 2), sigmoid activations, one linear layer; every weight and bias
  drawn from U(-0.5, 0.5). Sigmoid makes the network twice differentiable with non-vanishing
  second derivatives, which is what lets L-BFGS match gradients to near zero.
- ``resnet20``: the CIFAR ResNet of He, Zhang, Ren and Sun, "Deep Residual Learning for Image
  Recognition" (CVPR 2016, Sec. 4.2): a 3x3 stem of 16 channels, three stages of 3 basic blocks
  (16, 32, 64 channels; stride 2 at the start of stages 2 and 3, 1x1 projection shortcuts),
  global average pooling and a linear layer; PyTorch's default initialisation ("default
  init"). Geiping et al. (2020) attack it with BatchNorm in eval mode: call ``.eval()``.
"""

from __future__ import annotations

import torch
from torch import nn


class DLGLeNet(nn.Module):
    def __init__(self, channels: int = 3, num_classes: int = 10, image_size: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 12, kernel_size=5, padding=2, stride=2),
            nn.Sigmoid(),
            nn.Conv2d(12, 12, kernel_size=5, padding=2, stride=2),
            nn.Sigmoid(),
            nn.Conv2d(12, 12, kernel_size=5, padding=2, stride=1),
            nn.Sigmoid(),
        )
        side = (image_size + 3) // 4
        self.fc = nn.Linear(12 * side * side, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x).flatten(1))


def dlg_lenet(channels: int = 3, num_classes: int = 10, image_size: int = 32,
              seed: int = 0) -> DLGLeNet:
    """The DLG LeNet with every parameter drawn from U(-0.5, 0.5) by a generator seeded ``seed``."""
    model = DLGLeNet(channels, num_classes, image_size)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=gen) - 0.5)
    return model


class BasicBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, channels: int = 3, num_classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        stages: list[nn.Module] = []
        in_ch = width
        for i, mult in enumerate((1, 2, 4)):
            out_ch = width * mult
            blocks = [BasicBlock(in_ch if j == 0 else out_ch, out_ch,
                                 2 if (j == 0 and i > 0) else 1) for j in range(3)]
            stages.append(nn.Sequential(*blocks))
            in_ch = out_ch
        self.layers = nn.Sequential(*stages)
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        return self.fc(out.mean(dim=(2, 3)))


def resnet20(channels: int = 3, num_classes: int = 10, seed: int = 0) -> ResNet20:
    """ResNet-20 at PyTorch's default initialisation, drawn with ``torch.manual_seed(seed)``
    semantics on a private generator state (the global RNG is restored afterwards)."""
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return ResNet20(channels, num_classes)
    finally:
        torch.random.set_rng_state(state)
