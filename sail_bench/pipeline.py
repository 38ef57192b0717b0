"""Stage constructors: each returns a lazy, content-keyed Stage; nothing runs until the store ensures it.

Methods (``methods/``) compose these into their algorithm; ``plan`` and ``run`` build the very
same graph, so what ``plan`` reports is what ``run`` does.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from .backends import build_backend, resolve_device
from .config import MetricRef, SamplerConfig, Suite, TrainConfig
from .data.pairs import PairSet, mixup
from .data.sources import PREFERENCE_SOURCES
from .evaluation.benchmarks import load_benchmark
from .metrics import build_metric
from .seeding import derive_seed, rng_for
from .stages import RECORD, Stage, StageStore, hash_json

CANDIDATES_FILE = "candidates.safetensors"
IMAGES_FILE = "images.safetensors"


def checkpoint_of(stage_dir: Path) -> Path | None:
    """A model stage's checkpoint directory; None for the base model."""
    if (stage_dir / "EXTERNAL").exists():  # a checkpoint imported from elsewhere (``sail-bench eval``)
        return Path((stage_dir / "EXTERNAL").read_text().strip())
    return None if (stage_dir / "BASE").exists() else stage_dir


class Pipeline:
    def __init__(self, suite: Suite, store: StageStore | None = None) -> None:
        self.suite = suite
        self.store = store or StageStore(suite.out_dir)
        self._metrics: dict[str, object] = {}
        self._heldout: Stage | None = None

    # -- lazily built heavy objects (plan never builds them) ---------------------------------
    @cached_property
    def backend(self):
        return build_backend(self.suite.backend)

    def metric(self, name: str, version: str | None = None):
        """The scorer, built once per stage run, with the options the suite gives for it."""
        key = f"{name}:{version}"
        if key not in self._metrics:
            refs = [
                m for m in self.suite.evaluation.metrics if m.name == name and (version is None or m.version == version)
            ]
            ref = refs[0] if refs else MetricRef(name=name, version=version)
            device = str(resolve_device(ref.device or self.suite.backend.device))
            self._metrics[key] = build_metric(name, device=device, **ref.options())
        return self._metrics[key]

    @cached_property
    def source(self):
        return PREFERENCE_SOURCES.get(self.suite.data.preferences.source, where="data.preferences.source")(self)

    @cached_property
    def prompt_split(self) -> tuple[list[str], list[list[str]]]:
        """(seed prompts, [Y_1, Y_2, ...]): pairwise disjoint, decided by the preference source."""
        return self.source.split()

    # -- models ------------------------------------------------------------------------------
    def base_model(self) -> Stage:
        b = self.suite.backend

        def run(out: Path, deps: dict) -> dict:
            (out / "BASE").write_text(f"{b.name} {b.model}\n")
            return {"backend": b.name, "model": b.model}

        return Stage(
            "base",
            1,
            {"backend": b.name, "model": b.model, "fingerprint": self.model_fingerprint()},
            {},
            run,
            label="base",
        )

    def imported_checkpoint(self, path: Path) -> Stage:
        """A UNet checkpoint trained earlier (another run, another store) as a model stage: evaluations of it
        are cached like any other. Identified by its stage key when sail-bench wrote it, else its files."""
        path = Path(path).resolve()
        record = path / RECORD
        if record.exists():
            ident = json.loads(record.read_text())["key"]
        else:
            files = sorted(f for f in path.rglob("*") if f.is_file())
            ident = hash_json([(str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns) for f in files])

        def run(out: Path, deps: dict) -> dict:
            (out / "EXTERNAL").write_text(f"{path}\n")
            return {"path": str(path)}

        params = {"path": str(path), "source": ident, "base": self.model_fingerprint()}
        return Stage("checkpoint", 1, params, {}, run, label=f"import/{path.name}")

    def model_fingerprint(self) -> str:
        """Identifies the base weights in stage keys without loading them (plan works without the weights)."""
        b = self.suite.backend
        if b.name == "toy":  # the builtin checkpoint is small: hash its bytes
            return self.backend.fingerprint()
        return f"{b.name}:{b.model}@{b.revision or 'main'}" + (f"|vae={b.vae}" if b.vae else "")

    def train(self, init: Stage, ref: Stage, pairs: Stage, cfg: TrainConfig, label: str) -> Stage:
        seed = derive_seed(self.suite.seed, "train", init.key, ref.key, pairs.key)  # shared work, shared seed

        def run(out: Path, deps: dict) -> dict:
            from .methods.trainer import train_preference

            data = PairSet.load(deps["pairs"])
            return train_preference(
                self.backend, checkpoint_of(deps["init"]), checkpoint_of(deps["ref"]), data, cfg, seed, out, desc=label
            )

        params = {"train": cfg.model_dump(mode="json"), "seed": seed, "backend": self.suite.backend.model_dump()}
        return Stage("train", 1, params, {"init": init, "ref": ref, "pairs": pairs}, run, label=label)

    # -- data --------------------------------------------------------------------------------
    def seed_pairs(self) -> Stage:
        return self.source.seed_pairs_stage()

    def heldout_pairs(self) -> Stage:
        """Built once per pipeline: for Pick-a-Pic, choosing the rows reads the held-out split's metadata."""
        if self._heldout is None:
            self._heldout = self.source.heldout_pairs_stage(self.suite.evaluation.reward_accuracy)
        return self._heldout

    def reward_accuracy(self, model: Stage, label: str) -> Stage | None:
        """How often the model's implicit reward against the base prefers the held-out human winner.

        The (t, eps) draws depend only on the held-out set, so every model is judged on the same noise and
        the accuracies of successive iterations are directly comparable. None for the base itself.
        """
        acc, base = self.suite.evaluation.reward_accuracy, self.base_model()
        if acc is None or model.key == base.key:
            return None
        pairs = self.heldout_pairs()
        seed = derive_seed(self.suite.seed, "reward_accuracy", pairs.key)

        def run(out: Path, deps: dict) -> dict:
            from .methods.rankers import RankRequest, implicit_rewards

            ps = PairSet.load(deps["pairs"])
            lat = torch.stack([ps.x_w, ps.x_l], dim=1)  # (P, 2, ...): winner and loser share the draws
            req = RankRequest(
                self.backend,
                lat,
                ps.prompts,
                checkpoint_of(deps["model"]),
                checkpoint_of(deps["base"]),
                seed,
                acc.draws,
            )
            r = implicit_rewards(req) / req.beta  # per unit beta: the accuracy does not depend on beta
            margin = r[:, 0] - r[:, 1]
            pd.DataFrame({"prompt": ps.prompts, "reward_w": r[:, 0], "reward_l": r[:, 1]}).to_parquet(
                out / "rewards.parquet", index=False
            )
            return {"accuracy": float((margin > 0).mean()), "margin_mean": float(margin.mean()), "pairs": len(ps)}

        params = {"draws": acc.draws, "seed": seed}
        deps = {"model": model, "base": base, "pairs": pairs}
        return Stage("reward_accuracy", 1, params, deps, run, label=f"{label}/reward_accuracy")

    def generate_candidates(
        self, model: Stage, prompts: list[str], n: int, sampler: SamplerConfig, label: str
    ) -> Stage:
        suite_seed = self.suite.seed

        def run(out: Path, deps: dict) -> dict:
            unet = self.backend.load_unet(checkpoint_of(deps["model"]))
            flat = [p for p in prompts for _ in range(n)]
            seeds = [derive_seed(suite_seed, "candidates", p, j) for p in prompts for j in range(n)]
            lat = self.backend.generate(
                unet,
                flat,
                seeds,
                sampler.name,
                sampler.steps,
                sampler.guidance,
                sampler.batch_size,
                desc=f"{label} candidates",
            )
            save_file({"latents": lat.view(len(prompts), n, *lat.shape[1:]).contiguous()}, out / CANDIDATES_FILE)
            (out / "prompts.json").write_text(json.dumps(prompts))
            return {"prompts": len(prompts), "candidates": n}

        params = {"prompts": hash_json(prompts), "n": n, "sampler": sampler.model_dump(), "seed": suite_seed}
        return Stage("candidates", 1, params, {"model": model}, run, label=f"{label}/candidates")

    def rank(
        self,
        candidates: Stage,
        policy: Stage,
        reference: Stage,
        ranker: str,
        draws: int,
        beta: float,
        label: str,
        audit_metric: str | None = None,
    ) -> Stage:
        seed = derive_seed(self.suite.seed, "rank", candidates.key)

        def run(out: Path, deps: dict) -> dict:
            from .methods.rankers import RankRequest, compute_rewards

            lat = load_file(deps["candidates"] / CANDIDATES_FILE)["latents"]
            prompts = json.loads((deps["candidates"] / "prompts.json").read_text())
            req = RankRequest(
                self.backend,
                lat,
                prompts,
                checkpoint_of(deps["policy"]),
                checkpoint_of(deps["reference"]),
                seed,
                draws,
                beta,
            )
            rewards = compute_rewards(ranker, req, self.metric)
            P, N = rewards.shape
            df = pd.DataFrame(
                {"prompt": np.repeat(prompts, N), "candidate": np.tile(np.arange(N), P), "reward": rewards.reshape(-1)}
            )
            summary = {
                "reward_gap_mean": float((rewards.max(1) - rewards.min(1)).mean()),
                "reward_gap_median": float(np.median(rewards.max(1) - rewards.min(1))),
            }
            if audit_metric:  # toy world: the hidden judge says how good the ranking was
                imgs = self.backend.decode(lat.reshape(P * N, *lat.shape[2:]))
                judge = np.asarray(
                    self.metric(audit_metric).score(
                        [Image.fromarray(im) for im in imgs], [p for p in prompts for _ in range(N)]
                    )
                ).reshape(P, N)
                df["audit"] = judge.reshape(-1)
                best, worst = rewards.argmax(1), rewards.argmin(1)
                rows = np.arange(P)
                summary["audit_best_worst_agreement"] = float((judge[rows, best] > judge[rows, worst]).mean())
                summary["audit_spearman"] = float(
                    np.nanmean([pd.Series(rewards[i]).corr(pd.Series(judge[i]), method="spearman") for i in range(P)])
                )
            df.to_parquet(out / "ranking.parquet", index=False)
            return summary

        params = {"ranker": ranker, "draws": draws, "beta": beta, "seed": seed, "audit": audit_metric}
        deps = {"candidates": candidates, "policy": policy, "reference": reference}
        return Stage("ranking", 1, params, deps, run, label=f"{label}/ranking")

    def select_pairs(self, candidates: Stage, ranking: Stage, selection: str, label: str) -> Stage:
        seed = derive_seed(self.suite.seed, "select", ranking.key)

        def run(out: Path, deps: dict) -> dict:
            from .methods.rankers import select_pairs

            lat = load_file(deps["candidates"] / CANDIDATES_FILE)["latents"]
            prompts = json.loads((deps["candidates"] / "prompts.json").read_text())
            df = pd.read_parquet(deps["ranking"] / "ranking.parquet")
            rewards = df["reward"].to_numpy().reshape(lat.shape[0], lat.shape[1])
            w, l_ = select_pairs(rewards, selection, rng_for(seed))
            rows = torch.arange(lat.shape[0])
            PairSet(
                lat[rows, torch.from_numpy(w)], lat[rows, torch.from_numpy(l_)], prompts, ["generated"] * len(prompts)
            ).save(out)
            return {"pairs": len(prompts)}

        return Stage(
            "pairs",
            1,
            {"selection": selection, "seed": seed},
            {"candidates": candidates, "ranking": ranking},
            run,
            label=f"{label}/pairs",
        )

    def mixup(self, generated: Stage, seed_pairs: Stage, alpha: float, total: int, label: str) -> Stage:
        seed = derive_seed(self.suite.seed, "mixup", generated.key, seed_pairs.key)

        def run(out: Path, deps: dict) -> dict:
            mixed = mixup(PairSet.load(deps["generated"]), PairSet.load(deps["seed"]), alpha, total, rng_for(seed))
            mixed.save(out)
            return {"pairs": len(mixed), "generated": sum(o == "generated" for o in mixed.origin)}

        return Stage(
            "mix",
            1,
            {"alpha": alpha, "total": total, "seed": seed},
            {"generated": generated, "seed": seed_pairs},
            run,
            label=f"{label}/mix",
        )

    # -- evaluation --------------------------------------------------------------------------
    def eval_images(self, model: Stage, benchmark: str, label: str) -> Stage:
        ev = self.suite.evaluation
        ref = next(b for b in ev.benchmarks if b.name == benchmark)
        sampler, suite_seed = ev.sampler, self.suite.seed
        items = load_benchmark(benchmark, ref.limit, ref.path)

        def run(out: Path, deps: dict) -> dict:
            unet = self.backend.load_unet(checkpoint_of(deps["model"]))
            rows = [(it, k) for it in items for k in range(ref.samples_per_prompt)]
            # the seed depends only on the item, never on the model: paired comparisons across methods
            seeds = [derive_seed(suite_seed, "eval", benchmark, it.item_id, k) for it, k in rows]
            lat = self.backend.generate(
                unet,
                [it.prompt for it, _ in rows],
                seeds,
                sampler.name,
                sampler.steps,
                sampler.guidance,
                sampler.batch_size,
                desc=f"{label} eval {benchmark}",
            )
            images = self.backend.decode(lat)
            save_file({"images": torch.from_numpy(images).contiguous()}, out / IMAGES_FILE)
            manifest = pd.DataFrame(
                {
                    "item_id": [it.item_id for it, _ in rows],
                    "sample": [k for _, k in rows],
                    "prompt": [it.prompt for it, _ in rows],
                    "group": [it.group for it, _ in rows],
                    "subgroup": [it.subgroup for it, _ in rows],
                    "seed": [str(s) for s in seeds],
                }
            )
            manifest.to_parquet(out / "manifest.parquet", index=False)
            image_grid(images[:64]).save(out / "grid.png")
            return {"images": len(rows)}

        params = {
            "benchmark": benchmark,
            "items": hash_json([(i.item_id, i.prompt) for i in items]),
            "samples_per_prompt": ref.samples_per_prompt,
            "sampler": sampler.model_dump(),
            "seed": suite_seed,
        }
        return Stage("eval_images", 1, params, {"model": model}, run, label=f"{label}/eval/{benchmark}")

    def score(self, images: Stage, ref: MetricRef, label: str) -> Stage:
        metric, version = ref.name, ref.version

        def run(out: Path, deps: dict) -> dict:
            imgs = load_file(deps["images"] / IMAGES_FILE)["images"].numpy()
            manifest = pd.read_parquet(deps["images"] / "manifest.parquet")
            scores = self.metric(metric, version).score(
                [Image.fromarray(im) for im in imgs], manifest["prompt"].tolist()
            )
            manifest.assign(score=np.asarray(scores, dtype=np.float64)).to_parquet(out / "scores.parquet", index=False)
            return {"mean": float(np.mean(scores))}

        params = ref.model_dump(exclude={"batch_size", "device"})  # where and how many at once: same scores
        return Stage("scores", 1, params, {"images": images}, run, label=f"{label}/{metric}")

    def evaluation(self, model: Stage, label: str) -> dict[tuple[str, str], Stage]:
        """Scores for every benchmark × metric of the suite; images generated once per benchmark."""
        out = {}
        for b in self.suite.evaluation.benchmarks:
            imgs = self.eval_images(model, b.name, label)
            for m in self.suite.evaluation.metrics:
                out[(b.name, m.key)] = self.score(imgs, m, f"{label}/eval/{b.name}")
        return out


def image_grid(images: np.ndarray, cols: int = 8, scale: int = 4) -> Image.Image:
    n, h, w, _ = images.shape
    rows = max(1, -(-n // cols))
    grid = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = im
    img = Image.fromarray(grid)
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img
