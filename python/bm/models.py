"""The models of the examples and the training runs (Fashion-MNIST, 1x28x28
inputs, 10 classes)."""

import torch


def mlp():
    """784-256-10 with ReLU."""
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10))


def cnn():
    """Two conv(3x3, pad 1) + ReLU + 2x2 max-pool layers, then one linear
    layer: 1 -> 8 -> 16 channels, 16*7*7 -> 10."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 7 * 7, 10))


MODELS = {"mlp": mlp, "cnn": cnn}
