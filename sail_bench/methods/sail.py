"""SAIL, Algorithm 1 of the paper; OnlineDPO is the same loop with an external scorer as ranker."""

from __future__ import annotations

from ..errors import UserError
from . import METHODS, Iterate


@METHODS.register("sail")
@METHODS.register("online_dpo", doc="OnlineDPO: the SAIL loop ranked by an external scorer (ranker: scorer:<metric>).")
def sail(pipe, cfg) -> list[Iterate]:
    """SAIL: DPO on the seed pairs, then T rounds of generate → self-rank → mix → DPO."""
    base = pipe.base_model()
    seed_pairs = pipe.seed_pairs()
    _, prompt_pools = pipe.prompt_split  # Y_1..Y_T, disjoint from the seed prompts and each other
    sampler = cfg.sampler or pipe.suite.evaluation.sampler
    if len(prompt_pools) < cfg.iterations:
        raise UserError(
            f"methods[{cfg.id}].iterations = {cfg.iterations} but data.prompt_pools has "
            f"{len(prompt_pools)} pools; add pools or lower iterations"
        )

    # iteration 0: M_1 = DiffusionDPO(init = B, ref = B, data = D_seed)
    model = pipe.train(init=base, ref=base, pairs=seed_pairs, cfg=cfg.train_for(0), label=f"{cfg.id}/iter_0")
    iterates = [Iterate(0, "iter_0", model, {"train": model})]

    for i, pool in enumerate(prompt_pools[: cfg.iterations], start=1):
        label = f"{cfg.id}/iter_{i}"
        previous = iterates[-2].model if len(iterates) > 1 else base
        reference = {"base": base, "previous": previous, "iter0": iterates[0].model if i > 1 else base}[
            cfg.reward_reference
        ]
        # candidate generation: N samples per prompt from the current model M_i
        candidates = pipe.generate_candidates(model, pool, cfg.candidates, sampler, label)
        # self-rewarding ranking with M_i against the reference; best and worst form a pair
        ranking = pipe.rank(
            candidates,
            policy=model,
            reference=reference,
            ranker=cfg.ranker,
            draws=cfg.draws,
            beta=cfg.train.beta,
            label=label,
            audit_metric=cfg.audit_metric,
        )
        generated = pipe.select_pairs(candidates, ranking, cfg.selection, label)
        # ranked preference mixup: |Y_i| pairs, a share alpha generated, the rest human seed pairs
        mixed = pipe.mixup(generated, seed_pairs, alpha=cfg.alpha, total=len(pool), label=label)
        # closed-loop DPO: M_{i+1} = DPO(init = M_i, ref = M_i, data = mixed)
        model = pipe.train(init=model, ref=model, pairs=mixed, cfg=cfg.train_for(i), label=label)
        iterates.append(Iterate(i, f"iter_{i}", model, {"ranking": ranking, "train": model}))
    return iterates
