"""What every learned scorer shares: dtype names, batching, loading that fails with a clear message."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np
import torch
from PIL import Image

from ..errors import MissingInput, UserError

T = TypeVar("T")

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}  # as backend.dtype


def torch_dtype(name: str, metric: str) -> torch.dtype:
    if name not in DTYPES:
        raise UserError(f"evaluation.metrics: {metric}: dtype {name!r} is not one of {sorted(DTYPES)}")
    return DTYPES[name]


def batches(items: Sequence[T], size: int, desc: str | None = None) -> Iterator[Sequence[T]]:
    """Consecutive chunks; with ``desc`` a progress bar (a benchmark is thousands of images per metric)."""
    from tqdm.auto import tqdm

    starts = range(0, len(items), size)
    for i in tqdm(starts, desc=desc, unit="batch", leave=False, disable=desc is None or len(starts) < 2):
        yield items[i : i + size]


class BatchedScorer:
    """What the learned scorers share: device, dtype, batch size, and the one batching loop.
    A subclass scores one batch (images with their prompts) and returns a 1-D tensor."""

    name: str

    def __init__(self, device: str, dtype: str, batch_size: int) -> None:
        self.device = torch.device(device)
        self.dtype = torch_dtype(dtype, self.name)
        self.batch_size = batch_size

    def score_batch(self, images: list[Image.Image], prompts: list[str]) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def score(self, images: list[Image.Image], prompts: list[str]) -> np.ndarray:
        out = [
            self.score_batch([images[i] for i in idx], [prompts[i] for i in idx]).float().cpu()
            for idx in batches(range(len(images)), self.batch_size, f"score {self.name}")
        ]
        return torch.cat(out).double().numpy() if out else np.zeros(0)


def load(what: str, source: str, fn: Callable[[], T], hint: str) -> T:
    """Run a loader; a missing file or an unreachable hub id becomes one line naming it and the fix."""
    try:
        return fn()
    except (OSError, FileNotFoundError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise MissingInput(f"{what} {source!r} not present ({first}); {hint}") from None


def features(out) -> torch.Tensor:
    """``get_*_features``: transformers 5 returns an output object (projection in ``pooler_output``), 4.x a tensor."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


# OpenAI CLIP's image normalisation, used by CLIP, BLIP (ImageReward) and HPSv2 alike
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def clip_transform(n_px: int):
    """OpenAI CLIP's eval transform (also ImageReward's): bicubic resize of the short side, centre crop."""
    from torchvision import transforms as T

    return T.Compose(
        [
            T.Resize(n_px, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(n_px),
            lambda im: im.convert("RGB"),
            T.ToTensor(),
            T.Normalize(CLIP_MEAN, CLIP_STD),
        ]
    )


class LinearMLPHead(torch.nn.Module):
    """The LAION aesthetic / ImageReward head: Linear(d,1024), Linear(1024,128), Linear(128,64), Linear(64,16),
    Linear(16,1), dropout between the first four and no activations (keys ``layers.{0,2,4,6,7}``)."""

    def __init__(self, dim: int = 768) -> None:
        super().__init__()
        nn = torch.nn
        self.layers = nn.Sequential(
            nn.Linear(dim, 1024),
            nn.Dropout(0.2),
            nn.Linear(1024, 128),
            nn.Dropout(0.2),
            nn.Linear(128, 64),
            nn.Dropout(0.1),
            nn.Linear(64, 16),
            nn.Linear(16, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> LinearMLPHead:
        head = cls(state["layers.0.weight"].shape[1])
        head.load_state_dict(state)
        return head.eval()
