"""Preference data sources, registered by name: where the seed pairs and the prompt universe come from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..registry import Registry
from ..seeding import derive_seed, rng_for
from ..stages import Stage, hash_json
from .pairs import PairSet

PREFERENCE_SOURCES: Registry = Registry("preference source")


@PREFERENCE_SOURCES.register("toy_oracle")
class ToyOracleSource:
    """Toy world: pairs of base-model samples labelled by the hidden oracle with Bradley–Terry noise."""

    @staticmethod
    def prompts(suite) -> list[str]:
        from ..toy.world import all_prompts

        return [p.text for p in all_prompts()]

    @staticmethod
    def seed_pairs_stage(pipe, prompts: list[str], n_pairs: int) -> Stage:
        from ..toy.oracle import bradley_terry_labels, oracle_score

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
