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
        """Pairs of base samples on the seed prompts, labelled by simulated raters (Bradley–Terry noise)."""
        from ..toy.oracle import bradley_terry_labels

        pipe = self.pipe
        prompts, n_pairs = pipe.prompt_split[0], pipe.suite.data.seed_pairs
        cfg, suite_seed = pipe.suite.data.preferences, pipe.suite.seed

        def label(sa: np.ndarray, sb: np.ndarray) -> np.ndarray:
            return bradley_terry_labels(sa, sb, cfg.temperature, rng_for(suite_seed, "seed_pair_labels"))

        params = {"prompts": hash_json(prompts), "pairs": n_pairs, "temperature": cfg.temperature}
        return self._pairs_stage(prompts, n_pairs, "seed_pairs", "seed", label, params)

    def heldout_pairs_stage(self, acc) -> Stage:
        """Fresh base samples over all toy prompts (new seeds: no training image), winner by the hidden
        preference itself, so the accuracy is agreement with the truth rather than with noisy raters."""
        from ..toy.world import all_prompts

        prompts = [p.text for p in all_prompts()]
        order = rng_for(self.pipe.suite.seed, "heldout_prompts").permutation(len(prompts))
        prompts = [prompts[i] for i in order]
        params = {"prompts": hash_json(prompts), "pairs": acc.pairs, "labels": "oracle"}
        return self._pairs_stage(prompts, acc.pairs, "heldout_pairs", "heldout", np.greater, params)

    def _pairs_stage(self, prompts: list[str], n_pairs: int, tag: str, origin: str, label, params: dict) -> Stage:
        """``tag`` names the seeds and the stage, ``origin`` the pairs (the trainer counts "seed" pairs)."""
        from ..toy.oracle import oracle_score

        pipe, suite_seed = self.pipe, self.pipe.suite.seed
        sampler = pipe.suite.data.preferences.sampler
        base = pipe.base_model()

        def run(out: Path, deps: dict) -> dict:
            from ..pipeline import checkpoint_of

            backend = pipe.backend
            unet = backend.load_unet(checkpoint_of(deps["base"]))
            rows = [prompts[i % len(prompts)] for i in range(n_pairs)]  # pairs spread evenly over prompts
            seeds = [derive_seed(suite_seed, tag, i, side) for side in "ab" for i in range(n_pairs)]
            s = sampler
            lat = backend.generate(unet, rows + rows, seeds, s.name, s.steps, s.guidance, s.batch_size, desc=tag)
            a, b = lat[:n_pairs], lat[n_pairs:]
            score = oracle_score(backend.decode(lat), rows + rows)
            sa, sb = score[:n_pairs], score[n_pairs:]
            a_wins = np.asarray(label(sa, sb))
            m = torch.from_numpy(a_wins[:, None, None, None])
            PairSet(torch.where(m, a, b), torch.where(m, b, a), rows, [origin] * n_pairs).save(out)
            return {
                "pairs": n_pairs,
                "prompts": len(set(rows)),
                "label_agreement_with_oracle": float(((sa > sb) == a_wins).mean()),
                "mean_abs_oracle_gap": float(np.abs(sa - sb).mean()),
            }

        params = params | {"sampler": sampler.model_dump(), "seed": suite_seed}
        return Stage("preferences", 1, params, {"base": base}, run, label=f"data/{tag}")


from . import pickapic  # noqa: E402,F401  (registers pickapic_v2)
