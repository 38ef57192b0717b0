"""Baselines that are not loops: the base model itself, and Diffusion-DPO on the seed pairs."""

from __future__ import annotations

from . import METHODS, Iterate


@METHODS.register("base")
def base(pipe, cfg) -> list[Iterate]:
    """The pretrained model, untouched."""
    return [Iterate(0, "base", pipe.base_model())]


@METHODS.register("diffusion_dpo", doc="Diffusion-DPO (Wallace et al. 2024) from the base model on the seed pairs.")
@METHODS.register("mapo", doc="MaPO (Hong et al. 2024), reference-free, on the seed pairs.")
@METHODS.register("sft", doc="Supervised fine-tuning on the preferred image of each seed pair.")
def finetune(pipe, cfg) -> list[Iterate]:
    """One round of fine-tuning the base model on the seed pairs with the method's loss."""
    base_model = pipe.base_model()
    model = pipe.train(init=base_model, ref=base_model, pairs=pipe.seed_pairs(), cfg=cfg.train, label=f"{cfg.id}/train")
    return [Iterate(0, "final", model, {"train": model})]
