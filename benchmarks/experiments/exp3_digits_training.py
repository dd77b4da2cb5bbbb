"""Experiment 3 (seed 004): a 128-64 ReLU MLP with softmax trained 5 epochs, six inits.

The article trains Keras models on MNIST; here the same architecture
(64 -> 128 -> 64 -> 10, ReLU, softmax, cross-entropy) is trained by plain numpy
minibatch SGD (winit.nn forward/backward) on scikit-learn's bundled 8x8 digits
(1797 images, no download; 80/20 split), with Keras' kernel initializers built
from winit: zeros, random_uniform (U(-0.05, 0.05)), glorot_uniform,
glorot_normal (truncated), he_uniform, he_normal (truncated); biases start at 0.
Zeros never leaves chance accuracy: every hidden unit is 0, so no gradient
reaches the hidden weights and only the output bias learns the class prior.

Needs scikit-learn (the ``experiments`` extra).

    python benchmarks/experiments/exp3_digits_training.py [--fast] [--out DIR]
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _expkit import md_table, mlp, param_layers, parse_args, sub_seed, write_markdown  # noqa: E402

import winit  # noqa: E402
from winit import nn  # noqa: E402

INITS = ["zeros", "random_uniform", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal"]
LR = 0.05
BATCH = 32


def init_keras(w: np.ndarray, name: str, seed) -> None:
    """Keras' kernel initializer ``name`` on a torch-layout weight, through winit."""
    if name == "zeros":
        winit.zeros_(w)
    elif name == "random_uniform":
        winit.uniform_(w, -0.05, 0.05, seed=seed)
    elif name == "glorot_uniform":
        winit.variance_scaling_(w, 1.0, "fan_avg", "uniform", seed=seed)
    elif name == "glorot_normal":
        winit.variance_scaling_(w, 1.0, "fan_avg", "truncated_normal", seed=seed)
    elif name == "he_uniform":
        winit.variance_scaling_(w, 2.0, "fan_in", "uniform", seed=seed)
    elif name == "he_normal":
        winit.variance_scaling_(w, 2.0, "fan_in", "truncated_normal", seed=seed)
    else:  # pragma: no cover
        raise ValueError(name)


def load_digits_split(seed: int):
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover
        raise SystemExit("experiment 3 needs scikit-learn: pip install winit[experiments]") from exc
    data = load_digits()
    x = (data.data / 16.0).astype(np.float64)
    y = data.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_val = len(y) // 5
    val, tr = perm[:n_val], perm[n_val:]
    return x[tr], y[tr], x[val], y[val]


def softmax_xent(logits: np.ndarray, y: np.ndarray):
    """Mean cross-entropy of softmax(logits) and its gradient with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(y)
    loss = -float(logp[np.arange(n), y].mean())
    g = np.exp(logp)
    g[np.arange(n), y] -= 1.0
    return loss, g / n


def train(init: str, data, epochs: int, seed: int) -> dict:
    xtr, ytr, xva, yva = data
    net = mlp([64, 128, 64, 10], nn.ReLU, bias=True, seed=seed, last_act=False)
    for k, layer in enumerate(param_layers(net)):
        init_keras(layer.weight, init, sub_seed(seed, 1, k))
        layer.bias[:] = 0.0
    rng = np.random.default_rng(seed + 1)
    losses, accs = [], []
    for _ in range(epochs):
        perm = rng.permutation(len(ytr))
        total = 0.0
        for i in range(0, len(perm), BATCH):
            idx = perm[i:i + BATCH]
            loss, g = softmax_xent(net(xtr[idx]), ytr[idx])
            total += loss * len(idx)
            net.backward(g)
            for layer in param_layers(net):
                layer.weight -= LR * layer.grad_weight
                layer.bias -= LR * layer.grad_bias
        losses.append(total / len(ytr))
        accs.append(float(np.mean(np.argmax(net(xva), axis=1) == yva)))
    return dict(loss=losses, val_acc=accs)


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    epochs = 2 if args.fast else 5
    data = load_digits_split(args.seed)
    inits = ["zeros", "random_uniform", "he_normal"] if args.fast else INITS
    results = {init: train(init, data, epochs, args.seed) for init in inits}
    header = ["init"] + [f"epoch {e + 1}: loss / val acc" for e in range(epochs)]
    rows = [[init] + [f"{r['loss'][e]:.3f} / {r['val_acc'][e]:.3f}" for e in range(epochs)]
            for init, r in results.items()]
    chance = float(np.bincount(data[3]).max() / len(data[3]))
    md = (f"## Experiment 3: 64-128-64-10 ReLU MLP on sklearn digits, numpy SGD "
          f"(lr {LR}, batch {BATCH}), {epochs} epochs\n\n"
          f"Train loss (mean over the epoch) / validation accuracy; majority-class accuracy "
          f"{chance:.3f}.\n\n" + md_table(header, rows))
    files = [write_markdown(args.out, "exp3_digits_training.md", md)]
    if not args.no_plots:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 3))
        ax1, ax2 = fig.subplots(1, 2)
        ep = np.arange(1, epochs + 1)
        for init, r in results.items():
            ax1.plot(ep, r["loss"], marker="o", label=init)
            ax2.plot(ep, r["val_acc"], marker="o", label=init)
        ax1.set(xlabel="epoch", ylabel="train loss", yscale="log")
        ax2.set(xlabel="epoch", ylabel="validation accuracy")
        ax2.legend(fontsize=7)
        fig.tight_layout()
        p = os.path.join(args.out, "exp3_training.png")
        fig.savefig(p, dpi=80)
        files.append(p)
    print(md)
    return dict(results=results, chance=chance, markdown=md, files=files)


if __name__ == "__main__":
    main()
