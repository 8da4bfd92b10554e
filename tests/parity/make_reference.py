#!/usr/bin/env python3
"""Writes the PyTorch reference of one parity test (tests/parity/parity_test.cpp).

    make_reference.py MODEL OUT_DIR        MODEL: lenet5 | resnet20 | vgg16_cifar

Run with Debian's python (/usr/bin/python3, package python3-torch). The models are
written here, layer for layer after the C++ types (architectures/include/archetype/
architectures/lenet.hpp, cifar_resnet.hpp + resnet.hpp, vgg.hpp), with module names chosen
so that their state_dict names equal Archetype's layer paths.

OUT_DIR/MODEL.*:
  initial.params   parameters and BatchNorm running statistics before training (ARCHPARM)
  input.f32        STEPS x BATCH x C x H x W float32 (batch 0 feeds the logit checks)
  labels.i32       STEPS x BATCH int32
  eval_logits.f32  BATCH x 10: model.eval() on batch 0 (running statistics, no dropout)
  train_logits.f32 BATCH x 10: model.train() on batch 0 (batch statistics) = step 1's forward
  losses.f32       STEPS: the mean cross-entropy of each step's forward
  gradients.params the gradients of step 1 in place of the parameters (ARCHPARM)
  conditioning.f32 3 floats: PyTorch fp32 against the same run in float64, step 1
                   gradients and parameters after STEPS steps, in units of the test's bound;
                   the float64 run's smallest kink margin (kink_margin)
  final.params     after STEPS SGD steps (parameters and running statistics, ARCHPARM)

Training: STEPS steps of torch.optim.SGD(lr 0.05, momentum 0.9, weight_decay 5e-4) on
F.cross_entropy (mean), step i on batch i, BatchNorm on batch statistics (its running
statistics updated with momentum 0.1). Dropout masks cannot match another implementation's,
so the Dropout modules stay in eval mode (the identity) throughout; the C++ side builds its
executable with Options::dropout = false.
"""
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from convert_state_dict import write_params  # noqa: E402

BATCH = 8
STEPS = 3
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-4
# Seeds: among the first 13 (make_reference.py --search MODEL 1 13), the one whose float64
# trajectory keeps every ReLU input and max-pool runner-up farthest from its kink (ResNet-20
# seed 3: 1.65e-7 of the tensor's largest value; the others 1e-9 .. 8e-8). VGG-16-CIFAR has
# no seed with a margin near fp32 rounding (2 M ReLU inputs a step, logits already 4e-6
# apart between PyTorch fp32 and float64): see conditioning.f32.
SEEDS = {"lenet5": 1, "resnet20": 3, "vgg16_cifar": 1}


# --- Models ------------------------------------------------------------------------------

class LeNet5(nn.Module):
    """architectures::LeNet5: 1x32x32, conv1 6@5x5, ReLU, MaxPool 2, conv2 16@5x5, ReLU,
    MaxPool 2, Flatten, fc1 120, ReLU, fc2 84, ReLU, fc3 10 (every conv/linear with bias)."""

    input_shape = (1, 32, 32)

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


class OptionA(nn.Module):
    """ZeroPadShortcut<Out, Stride>: x[:, :, ::S, ::S], channels zero-padded from C to Out,
    (Out - C) / 2 on each side (He et al. 2016, option A). No parameters."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.pad = (out_channels - in_channels) // 2
        self.stride = stride

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    """BasicBlock<Planes, Stride, Shortcut>: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut x),
    3x3 convolutions without bias, the stride on conv1."""

    def __init__(self, in_channels, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_channels != planes:
            self.shortcut = OptionA(in_channels, planes, stride)
        else:
            self.shortcut = nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


class CifarResNet(nn.Module):
    """architectures::CifarResNet<6n+2>: conv1 3x3 16 + bn1 + ReLU, layer1..3 of n basic
    blocks (16, 32, 64 planes; the first block of layer2 and layer3 has stride 2 and an
    option-A shortcut), global average pooling, fc 10."""

    input_shape = (3, 32, 32)

    def __init__(self, depth):
        super().__init__()
        assert (depth - 2) % 6 == 0
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._stage(16, 16, n, 1)
        self.layer2 = self._stage(16, 32, n, 2)
        self.layer3 = self._stage(32, 64, n, 2)
        self.fc = nn.Linear(64, 10)
        self.relu = nn.ReLU()

    @staticmethod
    def _stage(in_channels, planes, blocks, stride):
        layers = [BasicBlock(in_channels, planes, stride)]
        layers += [BasicBlock(planes, planes, 1) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


class VGG16Cifar(nn.Module):
    """architectures::VGG16Cifar: configuration D with BN (conv 3x3 pad 1 with bias, BN,
    ReLU; 2x2 max pooling at 'M'), Flatten (512x1x1), classifier 512 -> 4096, ReLU,
    Dropout 0.5, 4096 -> 4096, ReLU, Dropout 0.5, 4096 -> 10. `features.i` and
    `classifier.i` are numbered as the flattened Seq is in Archetype."""

    input_shape = (3, 32, 32)
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]

    def __init__(self):
        super().__init__()
        layers, c = [], 3
        for v in self.cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, v, 3, 1, 1, bias=True), nn.BatchNorm2d(v), nn.ReLU()]
                c = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512, 4096), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


MODELS = {
    "lenet5": LeNet5,
    "resnet20": lambda: CifarResNet(20),
    "vgg16_cifar": VGG16Cifar,
}


# --- Reference ---------------------------------------------------------------------------

def set_mode(model, training):
    """model.train(training), Dropout always in eval mode (the identity)."""
    model.train(training)
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()


def randomize_batch_norm(model, shape, generator):
    """Random gamma in [0.5, 1.5), beta in [-0.5, 0.5); running statistics near the real
    ones, so that the eval-mode check exercises every layer at a sensible scale: the
    statistics of one calibration batch (cumulative average, i.e. exactly that batch's),
    then the mean shifted by 0.2 standard deviations x N(0, 1) and the variance scaled by a
    factor in [0.7, 1.4)."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.num_features, generator=generator) + 0.5)
            bn.bias.copy_(torch.rand(bn.num_features, generator=generator) - 0.5)
            bn.momentum = None  # cumulative moving average: after one batch, its statistics
            bn.reset_running_stats()
        set_mode(model, True)
        model(torch.randn((BATCH,) + shape, generator=generator))
        for bn in bns:
            std = bn.running_var.sqrt()
            bn.running_mean.add_(0.2 * std * torch.randn(bn.num_features, generator=generator))
            bn.running_var.mul_(0.7 + 0.7 * torch.rand(bn.num_features, generator=generator))
            bn.momentum = 0.1
            bn.num_batches_tracked.zero_()


def raw(path, tensor, dtype):
    with open(path + ".tmp", "wb") as f:
        f.write(tensor.detach().contiguous().numpy().astype(dtype).tobytes())
    os.replace(path + ".tmp", path)


def setup(name, seed):
    """The model (PyTorch's default initialisation from torch.manual_seed(seed), BatchNorm
    randomised), STEPS batches of N(0, 1) inputs and uniform labels, from `seed`."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 1)
    model = MODELS[name]()
    shape = model.input_shape
    randomize_batch_norm(model, shape, generator)
    x = torch.randn((STEPS, BATCH) + shape, generator=generator)
    y = torch.randint(0, 10, (STEPS, BATCH), generator=generator)
    return model, x, y


def train(model, x, y, first_logits=None, first_gradients=None):
    """STEPS SGD steps, step i on batch i; returns the losses."""
    set_mode(model, True)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    losses = []
    for step in range(STEPS):
        optimizer.zero_grad()
        logits = model(x[step])
        if step == 0 and first_logits is not None:
            first_logits(logits)
        loss = F.cross_entropy(logits, y[step])
        losses.append(loss.item())
        loss.backward()
        if step == 0 and first_gradients is not None:
            first_gradients(model)
        optimizer.step()
    return losses


def kink_margin(name, seed):
    """The training trajectory in float64, watching the kinks where fp32 rounding can
    change a gradient: the smallest |ReLU input| and the smallest gap between a max-pool
    window's maximum and its runner-up (windows whose maximum is > 0), each relative to the
    largest |value| of its tensor, over the STEPS training forward passes. An fp32
    implementation may take the other side of a kink closer than its rounding error (about
    1e-7 relative): that changes one element of a gradient by its whole value, and the
    parameters after the steps by more than 1e-4. Returns (margin, where, final state)."""
    model, x, y = setup(name, seed)
    model = model.double()
    worst = [float("inf"), ""]
    step = [0]

    def note(margin, where):
        if margin < worst[0]:
            worst[0], worst[1] = margin, f"{where}, step {step[0] + 1}"

    def relu_hook(path):
        def hook(module, inputs, output):
            if module.training:
                t = inputs[0].detach()
                note((t.abs().min() / t.abs().max()).item(), f"ReLU {path}")
        return hook

    def pool_hook(path):
        def hook(module, inputs, output):
            if module.training:
                t = inputs[0].detach()
                k, s = module.kernel_size, module.stride
                w = t.unfold(2, k, s).unfold(3, k, s)
                w = w.reshape(w.shape[:4] + (k * k,))
                top = w.topk(2, dim=-1).values
                gap = (top[..., 0] - top[..., 1])[top[..., 0] > 0]
                if gap.numel():
                    note((gap.min() / t.abs().max()).item(), f"MaxPool {path}")
        return hook

    def count_steps(module, inputs, output):
        step[0] += 1

    for path, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            module.register_forward_hook(relu_hook(path))
        elif isinstance(module, nn.MaxPool2d):
            assert isinstance(module.kernel_size, int) and module.padding == 0
            module.register_forward_hook(pool_hook(path))
    model.register_forward_hook(count_steps)
    grads = {}

    def keep_gradients(model):
        grads.update({path: p.grad.detach().clone() for path, p in model.named_parameters()})

    train(model, x.double(), y, first_gradients=keep_gradients)
    return worst[0], worst[1], model.state_dict(), grads


def max_error(state, exact, per_layer=False):
    """max over tensors and elements of |a - b| / (1e-4 max(|b|, scale)), the parity
    test's measure: scale = max |b| of the tensor, or of the layer (weight and bias
    together) with per_layer, as the test does for gradients."""
    scales = {}
    for k, b in exact.items():
        key = k.rsplit(".", 1)[0] if per_layer else k
        scales[key] = max(scales.get(key, 0.0), b.abs().max().item())
    worst = 0.0
    for k, b in exact.items():
        if k.endswith("num_batches_tracked"):
            continue
        a = state[k].double()
        scale = scales[k.rsplit(".", 1)[0] if per_layer else k]
        bound = 1e-4 * torch.clamp(b.abs(), min=scale)
        worst = max(worst, ((a - b).abs() / bound).max().item())
    return worst


def make(name, out_dir, seed=None):
    torch.set_num_threads(1)  # a build step: stay on one core
    seed = SEEDS[name] if seed is None else seed
    model, x, y = setup(name, seed)
    prefix = os.path.join(out_dir, name + ".")
    os.makedirs(out_dir, exist_ok=True)
    write_params(model.state_dict(), prefix + "initial.params")
    raw(prefix + "input.f32", x, "<f4")
    raw(prefix + "labels.i32", y, "<i4")

    set_mode(model, False)
    with torch.no_grad():
        raw(prefix + "eval_logits.f32", model(x[0]), "<f4")

    fp32_gradients = {}

    def gradients(model):
        """The gradients of step 1 as a parameter file (buffers: their values after the forward)."""
        state = model.state_dict()
        for path, p in model.named_parameters():
            state[path] = p.grad.detach().clone()
            fp32_gradients[path] = state[path]
        write_params(state, prefix + "gradients.params")

    losses = train(model, x, y, lambda logits: raw(prefix + "train_logits.f32", logits, "<f4"), gradients)
    raw(prefix + "losses.f32", torch.tensor(losses), "<f4")
    write_params(model.state_dict(), prefix + "final.params")
    print(f"{name}: seed {seed}, losses {', '.join(f'{v:.6f}' for v in losses)} -> {out_dir}")

    # Conditioning: how far PyTorch's own fp32 run is from the float64 one, in the test's
    # units. Where it exceeds 1 (a ReLU or max-pool decision closer to its kink than fp32
    # rounding flips; see kink_margin), no fp32 implementation can promise 1e-4, and the
    # test allows twice PyTorch's own error instead.
    margin, where, exact, exact_gradients = kink_margin(name, seed)
    conditioning = torch.tensor([max_error(fp32_gradients, exact_gradients, per_layer=True),
                                 max_error(model.state_dict(), exact), margin])
    raw(prefix + "conditioning.f32", conditioning, "<f4")
    print(f"{name}: float64 trajectory: smallest kink margin {margin:.3g} ({where}); PyTorch fp32 "
          f"vs float64: step 1 gradients {conditioning[0]:.3g}, after {STEPS} steps "
          f"{conditioning[1]:.3g} of the 1e-4 bound")


def search(name, first, count):
    """Prints the kink margin of seeds first .. first + count - 1 (see kink_margin)."""
    torch.set_num_threads(os.cpu_count() or 1)
    for seed in range(first, first + count):
        margin, where, _, _ = kink_margin(name, seed)
        print(f"{name} seed {seed}: margin {margin:.3g} ({where})", flush=True)


def main(argv):
    if len(argv) == 5 and argv[1] == "--search" and argv[2] in MODELS:
        search(argv[2], int(argv[3]), int(argv[4]))
        return 0
    if len(argv) not in (3, 4) or argv[1] not in MODELS:
        print(__doc__, file=sys.stderr)
        return 2
    make(argv[1], argv[2], int(argv[3]) if len(argv) == 4 else None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
