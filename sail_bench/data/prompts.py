"""Disjoint prompt sets: the seed prompts and one fresh pool per SAIL iteration."""

from __future__ import annotations

from ..errors import UserError
from ..seeding import rng_for


def split_prompts(
    prompts: list[str], seed: int, n_seed: int, pool_sizes: list[int]
) -> tuple[list[str], list[list[str]]]:
    """Shuffle the distinct prompts once (seeded) and cut them into seed prompts and pools.

    The pools are pairwise disjoint and disjoint from the seed prompts (paper §4.2:
    Y_i ∩ Y_j = ∅ for j < i).
    """
    distinct = list(dict.fromkeys(prompts))
    need = n_seed + sum(pool_sizes)
    if need > len(distinct):
        raise UserError(
            f"data: {n_seed} seed prompts + prompt_pools {pool_sizes} need {need} distinct prompts, "
            f"the source has {len(distinct)}; lower data.prompt_pools or data.seed_prompts"
        )
    order = rng_for(seed, "prompt_split").permutation(len(distinct))
    shuffled = [distinct[i] for i in order]
    seed_prompts = shuffled[:n_seed]
    pools, start = [], n_seed
    for size in pool_sizes:
        pools.append(shuffled[start : start + size])
        start += size
    return seed_prompts, pools
