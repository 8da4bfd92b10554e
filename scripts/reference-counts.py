#!/usr/bin/python3
"""Reference parameter counts (and MACs) for the architectures of issue 4.

Run with Debian's python (python3-torchvision 0.14): /usr/bin/python3 scripts/reference-counts.py
torchvision's models are counted as they are; the nets torchvision lacks are re-declared
here in a few lines of PyTorch, following the paper's reference code:
  - Xception as Keras' keras.applications.Xception (trainable vs non-trainable weights);
  - pre-activation ResNets (He et al. 2016b) as the authors' resnet-pre-act.lua;
  - SE-ResNet-50 (Hu et al. 2018) as the authors' Caffe model (stride on the first 1x1).
Parameters are trainable scalars; buffers are BatchNorm running mean and variance.
MACs: convolutions and linear layers of one forward pass of one image.
"""
import torch
import torchvision.models as M
from torch import nn


def params(m):
    return sum(p.numel() for p in m.parameters())


def buffers(m):
    return sum(b.numel() for n, b in m.named_buffers() if "num_batches" not in n)


def macs(m, res):
    total = [0]

    def hook(mod, _, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1]
            total[0] += out.numel() * (mod.in_channels // mod.groups) * k
        elif isinstance(mod, nn.Linear):
            total[0] += mod.in_features * mod.out_features

    handles = [x.register_forward_hook(hook) for x in m.modules()]
    m.eval()
    with torch.no_grad():
        m(torch.zeros(1, 3, res, res))
    for h in handles:
        h.remove()
    return total[0]


# --- Xception (Chollet 2017) as Keras' applications.Xception ---------------------------------
def sep(i, o):  # Keras SeparableConv2D(use_bias=False): depthwise 3x3 then pointwise 1x1
    return nn.Sequential(nn.Conv2d(i, i, 3, padding=1, groups=i, bias=False), nn.Conv2d(i, o, 1, bias=False))


class XBlock(nn.Module):
    def __init__(self, i, o, first_relu, mid=None):
        super().__init__()
        mid = mid or o
        self.shortcut = nn.Sequential(nn.Conv2d(i, o, 1, 2, bias=False), nn.BatchNorm2d(o))
        self.body = nn.Sequential(*([nn.ReLU()] if first_relu else []), sep(i, mid), nn.BatchNorm2d(mid),
                                  nn.ReLU(), sep(mid, o), nn.BatchNorm2d(o), nn.MaxPool2d(3, 2, 1))

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class XMiddle(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[m for _ in range(3) for m in (nn.ReLU(), sep(728, 728), nn.BatchNorm2d(728))])

    def forward(self, x):
        return self.body(x) + x


def xception():
    return nn.Sequential(nn.Conv2d(3, 32, 3, 2, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                         nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                         XBlock(64, 128, False), XBlock(128, 256, True), XBlock(256, 728, True),
                         *[XMiddle() for _ in range(8)], XBlock(728, 1024, True, mid=728),
                         sep(1024, 1536), nn.BatchNorm2d(1536), nn.ReLU(),
                         sep(1536, 2048), nn.BatchNorm2d(2048), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))


# --- Pre-activation ResNets (He et al. 2016b) ------------------------------------------------
class PreActBasic(nn.Module):
    def __init__(self, i, o, s):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(i), nn.Conv2d(i, o, 3, s, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(o), nn.Conv2d(o, o, 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(i, o, 1, s, bias=False) if (i != o or s != 1) else None

    def forward(self, x):
        a = torch.relu(self.bn1(x))
        sc = self.shortcut(a) if self.shortcut is not None else x
        return self.conv2(torch.relu(self.bn2(self.conv1(a)))) + sc


class PreActBottleneck(nn.Module):
    def __init__(self, i, o, s):
        super().__init__()
        p = o // 4
        self.bn1, self.conv1 = nn.BatchNorm2d(i), nn.Conv2d(i, p, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(p), nn.Conv2d(p, p, 3, s, 1, bias=False)
        self.bn3, self.conv3 = nn.BatchNorm2d(p), nn.Conv2d(p, o, 1, bias=False)
        self.shortcut = nn.Conv2d(i, o, 1, s, bias=False) if (i != o or s != 1) else None

    def forward(self, x):
        a = torch.relu(self.bn1(x))
        sc = self.shortcut(a) if self.shortcut is not None else x
        y = self.conv1(a)
        y = self.conv2(torch.relu(self.bn2(y)))
        return self.conv3(torch.relu(self.bn3(y))) + sc


def preact(block, widths, blocks, stem=16, classes=10):
    layers, i = [nn.Conv2d(3, stem, 3, 1, 1, bias=False)], stem
    for n, (o, s) in enumerate(widths):
        for b in range(blocks[n]):
            layers.append(block(i, o, s if b == 0 else 1))
            i = o
    layers += [nn.BatchNorm2d(i), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(i, classes)]
    return nn.Sequential(*layers)


# --- SE-ResNet-50 (Hu et al. 2018), stride on the first 1x1 as the authors' Caffe model ------
def se_resnet50():
    m = M.resnet50()
    for layer in (m.layer2, m.layer3, m.layer4):
        b = layer[0]
        b.conv1.stride, b.conv2.stride = (2, 2), (1, 1)
    for layer in (m.layer1, m.layer2, m.layer3, m.layer4):
        for b in layer:
            c = b.conv3.out_channels
            se = torchvision_se(c, c // 16)
            b.bn3 = nn.Sequential(b.bn3, se)
    return m


def torchvision_se(c, s):
    from torchvision.ops.misc import SqueezeExcitation
    return SqueezeExcitation(c, s)


def main():
    nets = {
        "googlenet": (M.googlenet(weights=None, aux_logits=False, init_weights=False), 224),
        "googlenet (aux_logits=True)": (M.googlenet(weights=None, aux_logits=True, init_weights=False), 224),
        "inception_v3": (M.inception_v3(weights=None, aux_logits=False, init_weights=False), 299),
        "inception_v3 (aux_logits=True)": (M.inception_v3(weights=None, aux_logits=True, init_weights=False), 299),
        "xception (Keras)": (xception(), 299),
        "preact_resnet18_cifar": (preact(PreActBasic, [(64, 1), (128, 2), (256, 2), (512, 2)], [2, 2, 2, 2], 64), 32),
        "preact_resnet164": (preact(PreActBottleneck, [(64, 1), (128, 2), (256, 2)], [18] * 3), 32),
        "preact_resnet1001": (preact(PreActBottleneck, [(64, 1), (128, 2), (256, 2)], [111] * 3), 32),
        "se_resnet50": (se_resnet50(), 224),
        "resnet50 (stride on the first 1x1)": (None, 224),
        "resnext50_32x4d": (M.resnext50_32x4d(), 224),
        "resnext101_32x8d": (M.resnext101_32x8d(), 224),
        "wide_resnet50_2": (M.wide_resnet50_2(), 224),
        "mobilenet_v2": (M.mobilenet_v2(), 224),
    }
    for i, res in enumerate([224, 240, 260, 300, 380, 456, 528, 600]):
        nets[f"efficientnet_b{i}"] = (getattr(M, f"efficientnet_b{i}")(), res)
    nets["efficientnet_b2 at 288 (torchvision's crop)"] = (M.efficientnet_b2(), 288)
    v1 = M.resnet50()
    for layer in (v1.layer2, v1.layer3, v1.layer4):
        layer[0].conv1.stride, layer[0].conv2.stride = (2, 2), (1, 1)
    nets["resnet50 (stride on the first 1x1)"] = (v1, 224)
    print(f"{'net':45} {'params':>12} {'buffers':>9} {'MACs':>15}  at")
    for name, (m, res) in nets.items():
        print(f"{name:45} {params(m):12,} {buffers(m):9,} {macs(m, res):15,}  {res}x{res}")


if __name__ == "__main__":
    main()
