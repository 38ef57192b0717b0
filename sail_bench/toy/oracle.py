"""The toy world's hidden "human" and its proxy "aesthetic" scorer, both computed from pixels.

The oracle plays the role of human raters: it labels the seed preference pairs (with
Bradley–Terry noise) and scores evaluations. It rewards prompt adherence (colour, shape,
background — each term also rewards a clean palette colour when the prompt leaves it open) and
two attributes no prompt names: a shape of a preferred size, centred in the frame. Every term
lies in [0, 1], so the oracle lies in [0, 5].

The proxy aesthetic rewards vivid, high-contrast images. It agrees with the oracle in part
(a larger shape is more vivid) and disagrees in part (it ignores the prompt and centring and
prefers shapes larger than the oracle's ideal), so optimising it can be over-optimised.
"""

from __future__ import annotations

import numpy as np

from .world import BACKGROUNDS, COLOURS, SHAPES, ToyPrompt, parse_prompt, shape_mask

PREFERRED_RADIUS = 0.34  # fraction of the image side; base samples spread over ~0.12–0.42
RADIUS_WIDTH = 0.08
CENTRE_WIDTH = 0.16
COLOUR_WIDTH = 70.0  # RGB distance at which colour similarity falls to 1/e


def _border_colour(img: np.ndarray) -> np.ndarray:
    border = np.concatenate([img[0], img[-1], img[1:-1, 0], img[1:-1, -1]], axis=0)
    return np.median(border, axis=0)


def _similarity(rgb: np.ndarray, target: np.ndarray) -> float:
    return float(np.exp(-np.linalg.norm(rgb - target) / COLOUR_WIDTH))


def _best_similarity(rgb: np.ndarray, named: dict[str, tuple[int, int, int]], name: str | None) -> float:
    if name is not None:
        return _similarity(rgb, np.array(named[name], dtype=np.float64))
    return max(_similarity(rgb, np.array(v, dtype=np.float64)) for v in named.values())


def oracle_terms(image: np.ndarray, prompt: ToyPrompt) -> dict[str, float]:
    """Per-term oracle scores for one uint8 (H, W, 3) image."""
    img = image.astype(np.float64)
    size = img.shape[0]
    bg = _border_colour(img)
    dist = np.linalg.norm(img - bg, axis=-1)
    mask = np.clip((dist - 20.0) / 40.0, 0.0, 1.0)  # soft foreground mask
    area = mask.sum()
    terms = {"background": _best_similarity(bg, BACKGROUNDS, prompt.background)}
    if area < 1.0:  # nothing drawn
        return {**terms, "colour": 0.0, "shape": 0.0, "size": 0.0, "centre": 0.0}
    fg = (img * mask[..., None]).sum(axis=(0, 1)) / area
    terms["colour"] = _best_similarity(fg, COLOURS, prompt.colour)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    cx, cy = (xx * mask).sum() / area, (yy * mask).sum() / area
    radius = np.sqrt(area / np.pi)
    # shape: overlap with the ideal prompted shape of the same area and centre of mass
    candidates = [prompt.shape] if prompt.shape else list(SHAPES)
    ious = []
    for s in candidates:
        ideal = shape_mask(s, np.array([cx]), np.array([cy]), np.array([radius]), size)[0]
        ious.append(float(np.minimum(ideal, mask).sum() / max(np.maximum(ideal, mask).sum(), 1e-6)))
    terms["shape"] = max(ious)
    terms["size"] = float(np.exp(-((((radius / size) - PREFERRED_RADIUS) / RADIUS_WIDTH) ** 2)))
    off = np.hypot(cx - size / 2, cy - size / 2) / size
    terms["centre"] = float(np.exp(-((off / CENTRE_WIDTH) ** 2)))
    return terms


def oracle_score(images: np.ndarray, prompts: list[str]) -> np.ndarray:
    """Oracle score in [0, 5] for a batch of uint8 (B, H, W, 3) images and their prompt texts."""
    return np.array([sum(oracle_terms(im, parse_prompt(p)).values()) for im, p in zip(images, prompts, strict=True)])


def proxy_aesthetic(images: np.ndarray) -> np.ndarray:
    """Vividness + contrast, roughly in [0, 2]: mean HSV saturation plus twice the luma std (0..1 scale)."""
    img = images.astype(np.float64) / 255.0
    mx, mn = img.max(axis=-1), img.min(axis=-1)
    saturation = np.where(mx > 1e-6, (mx - mn) / np.maximum(mx, 1e-6), 0.0)
    luma = img @ np.array([0.299, 0.587, 0.114])
    return saturation.mean(axis=(1, 2)) * 1.5 + 2.0 * luma.std(axis=(1, 2))


def bradley_terry_labels(
    score_a: np.ndarray, score_b: np.ndarray, temperature: float, rng: np.random.Generator
) -> np.ndarray:
    """True where A is preferred: P(A > B) = sigmoid((s_A - s_B) / temperature)."""
    p = 0.5 * (1.0 + np.tanh((score_a - score_b) / (2.0 * temperature)))  # sigmoid without overflow
    return rng.random(len(p)) < p
