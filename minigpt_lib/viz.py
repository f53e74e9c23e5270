"""Plots and widgets the lessons share. The only module of the library that imports matplotlib or ipywidgets."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import torch

from .training import History


def plot_history(histories: History | Mapping[str, History], title: str = "Hàm mất mát khi huấn luyện", ax=None):
    """Training loss per step (thin) and evaluated train/val loss (markers) of one or several runs."""
    if isinstance(histories, History):
        histories = {"": histories}
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i}"
        label = f"{name} " if name else ""
        ax.plot(h.steps, h.train_loss, color=color, alpha=0.35, lw=1, label=f"{label}train (từng batch)")
        if h.eval_steps:
            ax.plot(h.eval_steps, h.eval_val_loss, "o-", color=color, label=f"{label}validation")
    ax.set_xlabel("bước huấn luyện")
    ax.set_ylabel("loss (cross-entropy)")
    ax.set_title(title)
    ax.legend()
    return ax


def attention_heatmap(weights: torch.Tensor, tokens: Sequence[str] | None = None, title: str = "Trọng số attention", ax=None):
    """Heatmap of a (T_query, T_key) attention matrix: row i is what position i looks at."""
    w = weights.detach().float().cpu()
    if w.ndim != 2:
        raise ValueError(f"attention_heatmap needs a 2-D (T, T) matrix, got shape {tuple(w.shape)}; pick one head.")
    ax = ax or plt.subplots(figsize=(5, 4.5))[1]
    im = ax.imshow(w, cmap="viridis", vmin=0.0)
    plt.colorbar(im, ax=ax, fraction=0.046)
    if tokens is not None:
        ax.set_xticks(range(len(tokens)), labels=list(tokens), rotation=90)
        ax.set_yticks(range(len(tokens)), labels=list(tokens))
    ax.set_xlabel("key (vị trí được nhìn)")
    ax.set_ylabel("query (vị trí đang nhìn)")
    ax.set_title(title)
    return ax


def histograms(tensors: Mapping[str, torch.Tensor], bins: int = 100, title: str = "", density: bool = True, ax=None):
    """Overlaid histograms of the values of several tensors."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for name, t in tensors.items():
        values = t.detach().float().cpu().flatten().numpy()
        ax.hist(values, bins=bins, alpha=0.5, density=density, label=f"{name} (std {values.std():.3f})")
    ax.set_xlabel("giá trị")
    ax.set_ylabel("mật độ" if density else "số lượng")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_distribution(probs: torch.Tensor, labels: Sequence[str] | None = None, title: str = "", ax=None):
    """Bar chart of one probability distribution."""
    p = probs.detach().float().cpu()
    ax = ax or plt.subplots(figsize=(7, 3))[1]
    ax.bar(range(len(p)), p)
    if labels is not None:
        ax.set_xticks(range(len(p)), labels=list(labels), rotation=60)
    ax.set_ylabel("xác suất")
    ax.set_title(title)
    return ax


def temperature_figure(logits: torch.Tensor, temperatures: Sequence[float] = (0.5, 1.0, 2.0, 10.0), labels=None):
    """One bar chart per temperature: softmax(logits / T)."""
    cols = len(temperatures)
    fig, axes = plt.subplots(1, cols, figsize=(3.2 * cols, 3), sharey=True)
    for ax, T in zip(axes, temperatures, strict=True):
        plot_distribution(torch.softmax(logits / T, dim=-1), labels, title=f"T = {T:g}", ax=ax)
    fig.suptitle("Softmax với các temperature khác nhau")
    fig.tight_layout()
    return fig


def temperature_widget(logits: torch.Tensor, labels=None, t_min: float = 0.1, t_max: float = 10.0):
    """An interactive slider over the temperature (ipywidgets); shows softmax(logits / T) and its entropy."""
    import ipywidgets as widgets

    def show(temperature: float) -> None:
        probs = torch.softmax(logits / temperature, dim=-1)
        entropy = -(probs * probs.clamp_min(1e-12).log()).sum().item()
        plot_distribution(probs, labels, title=f"T = {temperature:.2f} — entropy {entropy:.3f} nat "
                          f"(tối đa ln {len(probs)} = {math.log(len(probs)):.3f})")
        plt.show()

    slider = widgets.FloatLogSlider(value=1.0, base=10, min=math.log10(t_min), max=math.log10(t_max), step=0.02,
                                    description="temperature")
    return widgets.interactive(show, temperature=slider)


def plot_ladder(ladder: Mapping, live: Mapping[str, float] | None = None, title: str | None = None, ax=None):
    """The stored ladder (``minigpt_lib.ladder.load_ladder()``): validation loss of every rung, mean and spread.

    Each seed of the benchmark is a grey dot, the mean a bar with the min–max spread; the count-based bigram
    floor is a dashed line. ``live`` maps rung keys to losses measured in the lesson (red stars).
    """
    rungs = ladder["rungs"]
    keys = list(rungs)
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    for i, key in enumerate(keys):
        r = rungs[key]
        ax.bar(i, r["mean"], color="C0", alpha=0.35, width=0.6)
        ax.errorbar(i, r["mean"], yerr=[[r["mean"] - r["min"]], [r["max"] - r["mean"]]], color="C0", capsize=4)
        ax.plot([i] * len(r["losses"]), r["losses"], ".", color="gray")
    floor = rungs[keys[0]]["mean"]
    ax.axhline(floor, color="black", ls="--", lw=1, label=f"sàn bigram đếm = {floor:.3f}")
    for j, (key, loss) in enumerate((live or {}).items()):
        ax.plot(keys.index(key), loss, "*", color="red", ms=14, label="chạy trong bài" if j == 0 else None)
    ax.set_xticks(range(len(keys)), labels=[rungs[k].get("label", k) for k in keys], rotation=20, ha="right")
    low = min(r["min"] for r in rungs.values())
    ax.set_ylim(low - 0.1, max(r["max"] for r in rungs.values()) + 0.1)
    ax.set_ylabel("loss validation (nat / ký tự)")
    recipe = ladder["recipe"]
    ax.set_title(title or f"Thang mô hình: {recipe['steps']} bước, batch {recipe['batch_size']}×{recipe['block_size']}, "
                 f"{len(ladder['seeds'])} seed")
    ax.legend(loc="upper right")
    return ax


def verse_widget(write: Callable[[float, int], str], temperature: float = 0.8, t_min: float = 0.2, t_max: float = 1.5):
    """A temperature slider and a button (ipywidgets): each click prints ``write(temperature, seed)``, a new seed each time.

    Lesson 33 passes a function that samples a few lines of lục bát and the checker's verdict on them.
    """
    import ipywidgets as widgets

    slider = widgets.FloatSlider(value=temperature, min=t_min, max=t_max, step=0.05, description="temperature")
    button = widgets.Button(description="Viết thêm", icon="pencil")
    out = widgets.Output()
    state = {"seed": 0}

    def on_click(_=None) -> None:
        state["seed"] += 1
        with out:
            out.clear_output()
            print(write(slider.value, state["seed"]))

    button.on_click(on_click)
    on_click()
    return widgets.VBox([widgets.HBox([slider, button]), out])
