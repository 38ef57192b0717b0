"""Preference data sources, registered by name: where the seed pairs and the prompt universe come from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..registry import Registry
from ..seeding import derive_seed, rng_for
from ..stages import Stage, hash_json
from .pairs import PairSet
from .prompts import split_prompts

PREFERENCE_SOURCES: Registry = Registry("preference source")


@PREFERENCE_SOURCES.register("toy_oracle")
class ToyOracleSource:
    """Toy world: pairs of base-model samples labelled by the hidden oracle with Bradley–Terry noise."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe

    def split(self) -> tuple[list[str], list[list[str]]]:
        from ..toy.world import all_prompts

        d = self.pipe.suite.data
        prompts = [p.text for p in all_prompts()]
        return split_prompts(prompts, self.pipe.suite.seed, d.seed_prompts or d.seed_pairs, d.prompt_pools)

    def seed_pairs_stage(self) -> Stage:
        from ..toy.oracle import bradley_terry_labels, oracle_score

        pipe = self.pipe
        prompts, n_pairs = pipe.prompt_split[0], pipe.suite.data.seed_pairs
        cfg = pipe.suite.data.preferences
        suite_seed = pipe.suite.seed
        base = pipe.base_model()

        def run(out: Path, deps: dict) -> dict:
            from ..pipeline import checkpoint_of

            backend = pipe.backend
            unet = backend.load_unet(checkpoint_of(deps["base"]))
            rows = [prompts[i % len(prompts)] for i in range(n_pairs)]  # pairs spread evenly over prompts
            seeds = [derive_seed(suite_seed, "seed_pairs", i, side) for side in "ab" for i in range(n_pairs)]
            s = cfg.sampler
            lat = backend.generate(
                unet, rows + rows, seeds, s.name, s.steps, s.guidance, s.batch_size, desc="seed pairs"
            )
            a, b = lat[:n_pairs], lat[n_pairs:]
            imgs = backend.decode(lat)
            score = oracle_score(imgs, rows + rows)
            sa, sb = score[:n_pairs], score[n_pairs:]
            a_wins = bradley_terry_labels(sa, sb, cfg.temperature, rng_for(suite_seed, "seed_pair_labels"))
            mask = np.asarray(a_wins)[:, None, None, None]
            m = torch.from_numpy(mask)
            PairSet(torch.where(m, a, b), torch.where(m, b, a), rows, ["seed"] * n_pairs).save(out)
            return {
                "pairs": n_pairs,
                "prompts": len(set(rows)),
                "label_agreement_with_oracle": float(((sa > sb) == a_wins).mean()),
                "mean_abs_oracle_gap": float(np.abs(sa - sb).mean()),
            }

        params = {
            "prompts": hash_json(prompts),
            "pairs": n_pairs,
            "temperature": cfg.temperature,
            "sampler": cfg.sampler.model_dump(),
            "seed": suite_seed,
        }
        return Stage("preferences", 1, params, {"base": base}, run, label="data/seed_pairs")


from . import pickapic  # noqa: E402,F401  (registers pickapic_v2)
