"""The models of the examples and the training runs (Fashion-MNIST, 1x28x28
inputs, 10 classes).

``MODELS`` maps the names that ``python -m bm.train --model`` takes to
constructors; every constructor takes ``width`` (the models' base width:
hidden units, channels or embedding size) and builds its default without
it. :func:`build` builds one by name."""

import torch
from torch import nn


def mlp(width=256):
    """784-256-10 with ReLU."""
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, width), nn.ReLU(), nn.Linear(width, 10))


def cnn(width=8):
    """Two conv(3x3, pad 1) + ReLU + 2x2 max-pool layers, then one linear
    layer: 1 -> 8 -> 16 channels, 16*7*7 -> 10."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, 10))


def _init_resnet(model):
    # What torchvision's ResNet.__init__ does to the modules it builds.
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


def resnet18(width=64, num_classes=10, in_channels=1, cifar=False):
    """torchvision's ResNet-18 (``torchvision.models.resnet18``: BasicBlock
    x [2, 2, 2, 2], batch norm, residual adds, adaptive average pooling),
    for `in_channels`-channel images.

    * The stem keeps torchvision's 7x7 stride-2 convolution and 3x3
      stride-2 max-pool, but reads `in_channels` channels: ``conv1`` is
      replaced by ``Conv2d(in_channels, width, 7, stride=2, padding=3,
      bias=False)`` (Fashion-MNIST has one channel; the rest of the network
      is as shipped). A 28x28 image is 7x7 after the stem, 1x1 in layer4.
    * ``cifar=True``: the CIFAR-style variant, a 3x3 stride-1 stem
      convolution and no max-pool (28x28 after the stem, 4x4 in layer4).
    * ``width``: the channels of the stem and layer1 (64 as shipped);
      layer2-4 have 2x, 4x, 8x as many, the classifier reads 8x.

    Weights are initialized as torchvision initializes them."""
    from torchvision.models import resnet
    model = resnet.resnet18(num_classes=num_classes)
    block = resnet.BasicBlock
    if width != 64:
        model.inplanes = width
        model.bn1 = nn.BatchNorm2d(width)
        model.layer1 = model._make_layer(block, width, 2)
        model.layer2 = model._make_layer(block, 2 * width, 2, stride=2)
        model.layer3 = model._make_layer(block, 4 * width, 2, stride=2)
        model.layer4 = model._make_layer(block, 8 * width, 2, stride=2)
        model.fc = nn.Linear(8 * width, num_classes)
    if cifar:
        model.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1,
                                bias=False)
        model.maxpool = nn.Identity()
    else:
        model.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3,
                                bias=False)
    _init_resnet(model)
    return model


def resnet18_cifar(width=64, num_classes=10, in_channels=1):
    """:func:`resnet18` with the CIFAR-style stem (3x3, no max-pool)."""
    return resnet18(width, num_classes, in_channels, cifar=True)


class ViT(nn.Module):
    """A ViT-style encoder: patch embedding (a ``patch`` x ``patch``
    convolution with stride ``patch``), learned position embeddings, a
    class token (``pool="cls"``) or mean pooling over the tokens
    (``pool="mean"``), ``depth`` x ``nn.TransformerEncoderLayer``
    (``batch_first=True``, GELU, pre-LayerNorm, multi-head attention,
    dropout 0), a final LayerNorm and a linear classifier."""

    def __init__(self, width=64, depth=4, heads=4, mlp_ratio=2, patch=7,
                 image=28, in_channels=1, num_classes=10, pool="mean"):
        super().__init__()
        if image % patch:
            raise ValueError("the patch size %d does not divide the image "
                             "size %d" % (patch, image))
        if pool not in ("mean", "cls"):
            raise ValueError("pool must be 'mean' or 'cls', not %r" % (pool,))
        self.pool = pool
        tokens = (image // patch) ** 2
        self.embed = nn.Conv2d(in_channels, width, patch, stride=patch)
        if pool == "cls":
            self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
            tokens += 1
        self.pos = nn.Parameter(torch.randn(1, tokens, width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            width, heads, mlp_ratio * width, dropout=0.0, activation="gelu",
            batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth,
                                             enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)          # N, tokens, width
        if self.pool == "cls":
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1)
        x = self.encoder(x + self.pos)
        x = x[:, 0] if self.pool == "cls" else x.mean(1)
        return self.head(self.norm(x))


def vit(width=64, **kwargs):
    """:class:`ViT` with its defaults: 16 patches of 7x7, embedding 64, 4
    layers of 4 heads, MLP 128, mean pooling."""
    return ViT(width=width, **kwargs)


MODELS = {"mlp": mlp, "cnn": cnn, "resnet18": resnet18,
          "resnet18-cifar": resnet18_cifar, "vit": vit}


def build(name, width=None):
    """The model ``name`` of :data:`MODELS`, with base width ``width`` (None:
    the model's own)."""
    return MODELS[name]() if width is None else MODELS[name](width=width)
