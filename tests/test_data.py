import numpy as np
import pytest
import torch

from sail_bench.data.pairs import PairSet, mixup
from sail_bench.data.prompts import split_prompts
from sail_bench.errors import UserError


def _pairs(n: int, origin: str, offset: float = 0.0) -> PairSet:
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1) + offset
    return PairSet(x, -x, [f"{origin}-{i}" for i in range(n)], [origin] * n)


@pytest.mark.parametrize("alpha,total", [(0.75, 40), (1.0, 40), (0.0, 20), (0.5, 7)])
def test_mixup_proportions_and_no_replacement(alpha, total):
    gen, seed = _pairs(50, "generated"), _pairs(30, "seed", 1000)
    mixed = mixup(gen, seed, alpha, total, np.random.default_rng(0))
    n_gen = round(alpha * total)
    assert len(mixed) == total
    assert mixed.origin.count("generated") == n_gen
    assert mixed.origin.count("seed") == total - n_gen
    assert len(set(mixed.prompts)) == total  # drawn without replacement
    # each pair stays a pair: the loser is the negated winner of the same source row
    assert torch.equal(mixed.x_l, -mixed.x_w)


def test_mixup_is_seeded_and_refuses_too_few_seed_pairs(tmp_path):
    gen, seed = _pairs(50, "generated"), _pairs(5, "seed")
    a = mixup(gen, seed, 0.9, 40, np.random.default_rng(1))
    b = mixup(gen, seed, 0.9, 40, np.random.default_rng(1))
    assert a.prompts == b.prompts
    with pytest.raises(ValueError, match="seed pairs"):
        mixup(gen, seed, 0.5, 40, np.random.default_rng(0))
    a.save(tmp_path)
    back = PairSet.load(tmp_path)
    assert back.prompts == a.prompts and torch.equal(back.x_w, a.x_w)


def test_prompt_pools_are_disjoint_and_deterministic():
    prompts = [f"p{i}" for i in range(100)] + ["p3", "p7"]  # repeats count once
    seed_p, pools = split_prompts(prompts, 0, 20, [30, 25])
    sets = [set(seed_p)] + [set(p) for p in pools]
    assert [len(s) for s in sets] == [20, 30, 25]
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            assert not sets[i] & sets[j]
    assert split_prompts(prompts, 0, 20, [30, 25]) == (seed_p, pools)
    assert split_prompts(prompts, 1, 20, [30, 25])[0] != seed_p
    with pytest.raises(UserError, match="need 111 distinct prompts"):
        split_prompts(prompts, 0, 11, [50, 50])
