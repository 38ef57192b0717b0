"""Baselines that are not loops: the base model itself, and Diffusion-DPO on the seed pairs."""

from __future__ import annotations

from . import METHODS, Iterate


@METHODS.register("base")
def base(pipe, cfg) -> list[Iterate]:
    """The pretrained model, untouched."""
    return [Iterate(0, "base", pipe.base_model())]


@METHODS.register("diffusion_dpo")
def diffusion_dpo(pipe, cfg) -> list[Iterate]:
    """Diffusion-DPO (Wallace et al.) from the base model on the seed pairs."""
    base_model = pipe.base_model()
    model = pipe.train(init=base_model, ref=base_model, pairs=pipe.seed_pairs(), cfg=cfg.train, label=f"{cfg.id}/train")
    return [Iterate(0, "final", model, {"train": model})]
