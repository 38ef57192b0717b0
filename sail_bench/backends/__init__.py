"""Model backends, registered by name (toy now; sd15 and sdxl plug in here)."""

from __future__ import annotations

import torch

from ..registry import Registry
from .base import Backend

BACKENDS: Registry = Registry("backend")

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def build_backend(cfg) -> Backend:
    factory = BACKENDS.get(cfg.name, where="backend.name")
    device = resolve_device(cfg.device)
    # half precision only where it is fast; on a CPU it is slower and no more deterministic
    dtype = DTYPES[cfg.dtype] if device.type == "cuda" else torch.float32
    extra = {k: v for k, v in (("revision", cfg.revision), ("vae", cfg.vae)) if v is not None}
    return factory(model=cfg.model, device=device, dtype=dtype, **extra)


def _register() -> None:
    from .sd15 import SD15Backend
    from .sdxl import SDXLBackend
    from .toy import ToyBackend

    BACKENDS.register("toy")(ToyBackend)
    BACKENDS.register("sd15")(SD15Backend)
    BACKENDS.register("sdxl")(SDXLBackend)


_register()
