"""The toy world: one coloured shape on a plain background, described by a short prompt.

A prompt names up to three attributes (colour, shape, background); any of them may be left out
("a red shape", "a circle on white"). Size and position are never named: they are the hidden
attributes on which the toy "human" (see ``oracle.py``) has a preference, and the pretraining
data spreads them widely so that a base model's samples differ in them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (240, 140, 20),
    "yellow": (235, 220, 30),
    "green": (40, 170, 50),
    "cyan": (30, 200, 210),
    "blue": (30, 60, 220),
    "purple": (140, 40, 190),
    "pink": (240, 110, 180),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (15, 15, 15),
    "white": (240, 240, 240),
    "grey": (128, 128, 128),
    "beige": (215, 200, 165),
    "brown": (95, 65, 40),
}
IMAGE_SIZE = 16


@dataclass(frozen=True)
class ToyPrompt:
    colour: str | None
    shape: str | None
    background: str | None

    @property
    def text(self) -> str:
        noun = self.shape or "shape"
        words = ["a"] + ([self.colour] if self.colour else []) + [noun]
        if self.background:
            words += ["on", self.background]
        return " ".join(words) if (self.colour or self.shape or self.background) else ""


def all_prompts() -> list[ToyPrompt]:
    """Every non-empty prompt of the toy world, in a fixed order (215 of them)."""
    out = []
    for c, s, b in itertools.product([None, *COLOURS], [None, *SHAPES], [None, *BACKGROUNDS]):
        if c or s or b:
            out.append(ToyPrompt(c, s, b))
    return out


def parse_prompt(text: str) -> ToyPrompt:
    """Inverse of ``ToyPrompt.text``; the empty string is the unconditional prompt."""
    words = text.strip().lower().split()
    if not words:
        return ToyPrompt(None, None, None)
    if words[0] in ("a", "an"):
        words = words[1:]
    background = None
    if "on" in words:
        i = words.index("on")
        background = " ".join(words[i + 1 :])
        words = words[:i]
        if background not in BACKGROUNDS:
            raise ValueError(f"toy prompt {text!r}: unknown background {background!r}; one of {list(BACKGROUNDS)}")
    colour = next((w for w in words if w in COLOURS), None)
    shape = next((w for w in words if w in SHAPES), None)
    known = set(COLOURS) | set(SHAPES) | {"shape"}
    unknown = [w for w in words if w not in known]
    if unknown:
        raise ValueError(f"toy prompt {text!r}: unknown words {unknown}; colours {list(COLOURS)}, shapes {SHAPES}")
    return ToyPrompt(colour, shape, background)


def shape_mask(shape: str, cx: np.ndarray, cy: np.ndarray, r: np.ndarray, size: int, supersample: int = 4):
    """Soft coverage in [0, 1] of ``shape`` (centre cx, cy and 'radius' r in pixels), batched.

    Returns an array (B, size, size). Coverage is computed on a supersampled grid so edges are
    anti-aliased the same way for every sample.
    """
    n = size * supersample
    grid = (np.arange(n) + 0.5) / supersample
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    dx = xx[None] - cx[:, None, None]
    dy = yy[None] - cy[:, None, None]
    rr = r[:, None, None]
    if shape == "circle":
        inside = dx**2 + dy**2 <= rr**2
    elif shape == "square":
        half = rr * 0.886  # same area as the circle of radius r
        inside = (np.abs(dx) <= half) & (np.abs(dy) <= half)
    elif shape == "triangle":
        # upward equilateral triangle with the same area as the circle of radius r
        side = rr * 2.694
        h = side * np.sqrt(3) / 2
        top = -2 * h / 3
        rel_y = dy - top  # 0 at apex, h at base
        inside = (rel_y >= 0) & (rel_y <= h) & (np.abs(dx) <= rel_y / np.sqrt(3))
    else:
        raise ValueError(f"unknown shape {shape!r}")
    cov = inside.reshape(-1, size, supersample, size, supersample).mean(axis=(2, 4))
    return cov.astype(np.float32)


def render(
    colours: np.ndarray, shapes: list[str], backgrounds: np.ndarray, cx, cy, r, size: int = IMAGE_SIZE
) -> np.ndarray:
    """Render a batch: colours/backgrounds (B, 3) in 0..255, centres and radii in pixels → uint8 (B, H, W, 3)."""
    b = len(shapes)
    cx, cy, r = (np.asarray(v, dtype=np.float64).reshape(b) for v in (cx, cy, r))
    cov = np.zeros((b, size, size), dtype=np.float32)
    for s in set(shapes):
        idx = np.array([i for i, v in enumerate(shapes) if v == s])
        cov[idx] = shape_mask(s, cx[idx], cy[idx], r[idx], size)
    img = cov[..., None] * colours[:, None, None, :] + (1 - cov[..., None]) * backgrounds[:, None, None, :]
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def sample_scenes(prompts: list[ToyPrompt], rng: np.random.Generator, size: int = IMAGE_SIZE) -> np.ndarray:
    """Draw training images for prompts: unnamed attributes at random, size and position spread widely."""
    b = len(prompts)
    colour_names = [p.colour or rng.choice(list(COLOURS)) for p in prompts]
    bg_names = [p.background or rng.choice(list(BACKGROUNDS)) for p in prompts]
    shapes = [p.shape or str(rng.choice(SHAPES)) for p in prompts]
    # colours jitter around their canonical value, so "how vivid" varies inside a colour name
    colours = np.array([COLOURS[c] for c in colour_names], dtype=np.float64)
    colours = colours * rng.uniform(0.75, 1.1, size=(b, 1)) + rng.normal(0, 12, size=(b, 3))
    bgs = np.array([BACKGROUNDS[c] for c in bg_names], dtype=np.float64) + rng.normal(0, 6, size=(b, 3))
    r = rng.uniform(0.12, 0.42, size=b) * size
    margin = 0.6 * r
    cx = rng.uniform(margin, size - margin)
    cy = rng.uniform(margin, size - margin)
    return render(np.clip(colours, 0, 255), shapes, np.clip(bgs, 0, 255), cx, cy, r, size)


def to_model_space(images: np.ndarray) -> torch.Tensor:
    """uint8 (B, H, W, 3) → float tensor (B, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def from_model_space(x: torch.Tensor) -> np.ndarray:
    """float tensor (B, 3, H, W) in [-1, 1] → uint8 (B, H, W, 3)."""
    arr = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(dtype=torch.uint8)
    return arr.permute(0, 2, 3, 1).cpu().numpy()
