"""The suite schema: what a suite YAML may say, checked before any work starts.

Loading a suite: read YAML → merge each method's ``extends:`` recipe under it → apply
``--set key.path=value`` overrides → check keys ("did you mean") → pydantic validation. Every
problem becomes one line naming the file, the dotted key, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrackingConfig(Strict):
    uri: str = "sqlite:///mlflow.db"
    experiment: str | None = None  # default: the suite name


class BackendConfig(Strict):
    name: str = "toy"
    model: str = "builtin"
    revision: str | None = None
    vae: str | None = None  # another VAE, e.g. madebyollin/sdxl-vae-fp16-fix
    dtype: Literal["fp32", "fp16", "bf16"] = "fp32"
    device: str = "auto"  # auto | cpu | cuda | cuda:N


class SamplerConfig(Strict):
    name: Literal["ddim", "ddpm", "euler"] = "ddim"
    steps: int = Field(20, ge=1, le=1000)
    guidance: float = Field(1.0, ge=0.0)
    batch_size: int = Field(64, ge=1)


class PreferenceConfig(Strict):
    source: str = "toy_oracle"
    path: str | None = None  # pickapic_v2: hub dataset id or a local parquet/jsonl file or directory
    split: str = "train"
    streaming: bool = False
    drop_ties: bool = True
    random_flip: bool = False  # cache flipped latents too; training flips w and l independently
    temperature: float = Field(0.25, gt=0)  # toy: Bradley–Terry temperature of the simulated raters
    sampler: SamplerConfig = SamplerConfig()  # toy: how the seed pairs' images are drawn


class DataConfig(Strict):
    preferences: PreferenceConfig = PreferenceConfig()
    seed_pairs: int = Field(256, ge=1)
    seed_prompts: int | None = Field(None, ge=1)  # distinct prompts behind the seed pairs (toy)
    prompt_pools: list[Annotated[int, Field(ge=1)]] = [96, 96]


class BenchmarkRef(Strict):
    name: str
    path: str | None = None  # a local copy instead of the official source
    limit: int | None = Field(None, ge=1)  # the first N prompts of every group (style / category)
    samples_per_prompt: int = Field(1, ge=1)


class MetricRef(Strict):
    name: str
    version: str | None = None  # e.g. hpsv2: v2.0 | v2.1 (required there: the two are not comparable)
    model: str | None = None  # hub id or local directory of the scorer's model
    weights: str | None = None  # a checkpoint file (the LAION aesthetic head .pth, HPS_v2.1_compressed.pt, ...)
    processor: str | None = None  # where preprocessing/tokenizer live when apart from the model (PickScore, BERT)
    arch: str | None = None  # open_clip architecture name or model-config JSON (HPSv2: ViT-H-14)
    dtype: Literal["fp32", "fp16", "bf16"] = "fp32"
    device: str | None = None  # default: the backend's device (e.g. cuda:1 to score beside the generator)
    batch_size: int = Field(32, ge=1)

    @property
    def key(self) -> str:
        """How results are named: the metric, with its version when there is one (hpsv2_v2.1)."""
        return f"{self.name}_{self.version}" if self.version else self.name

    def options(self) -> dict:
        """What the suite sets for this scorer (unset fields are left to the scorer's defaults)."""
        return self.model_dump(exclude={"name", "device"}, exclude_defaults=True)


class RewardAccuracyConfig(Strict):
    """How often each trained model's implicit reward (against the base) prefers the human winner on held-out
    pairs: the paper's "discriminative ability", which degrades without mixup."""

    pairs: int = Field(256, ge=1)
    path: str | None = None  # pickapic_v2: where the held-out pairs are (default: data.preferences.path)
    split: str = "validation"  # pickapic_v2 on the hub: the held-out split
    draws: int = Field(10, ge=1)  # (t, eps) draws per pair, shared by winner and loser and by every model


class EvaluationConfig(Strict):
    sampler: SamplerConfig = SamplerConfig()
    benchmarks: list[BenchmarkRef] = [BenchmarkRef(name="toy_shapes")]
    metrics: list[MetricRef] = [MetricRef(name="toy_oracle"), MetricRef(name="toy_aesthetic")]
    bootstrap: int = Field(1000, ge=100)
    reward_accuracy: RewardAccuracyConfig | None = RewardAccuracyConfig()  # null: skip

    @model_validator(mode="before")
    @classmethod
    def _names_as_strings(cls, data: Any) -> Any:
        # `benchmarks: [toy_shapes]` and `metrics: [toy_oracle]` are shorthand for {name: ...}
        if isinstance(data, dict):
            data = dict(data)
            for key in ("benchmarks", "metrics"):
                if isinstance(data.get(key), list):
                    data[key] = [{"name": v} if isinstance(v, str) else v for v in data[key]]
        return data


class TrainConfig(Strict):
    loss: Literal["dpo", "mapo", "sft"] = "dpo"
    beta: float = Field(5000.0, gt=0)  # Diffusion-DPO beta
    mapo_beta: float = Field(0.1, gt=0)  # MaPO margin weight (official default)
    snr_value: float = Field(0.5, gt=0)  # MaPO's s (official default)
    steps: int | None = Field(None, ge=1)
    epochs: float | None = Field(None, gt=0)  # alternative to steps: passes over the training pairs
    batch_size: int = Field(32, ge=1)  # pairs per device per micro-batch
    grad_accum: int = Field(1, ge=1)
    lr: float | None = Field(None, gt=0)
    lr_per_sample: float | None = Field(None, gt=0)  # official Diffusion-DPO --scale_lr rule
    warmup_steps: int = Field(0, ge=0)
    weight_decay: float = Field(1e-2, ge=0)
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = Field(1e-8, gt=0)
    grad_clip: float = Field(1.0, gt=0)
    proportion_empty_prompts: float = Field(0.0, ge=0, le=1)
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    optimizer: Literal["adamw", "adafactor"] = "adamw"  # adafactor: the official SDXL setting
    gradient_checkpointing: bool = False
    lora_rank: int | None = Field(None, ge=1)  # train a LoRA (peft) instead of the full UNet
    lora_alpha: float | None = Field(None, gt=0)  # default: lora_rank

    @model_validator(mode="after")
    def _one_length_and_one_lr(self) -> TrainConfig:
        if (self.steps is None) == (self.epochs is None):
            raise ValueError("give exactly one of steps or epochs")
        if (self.lr is None) == (self.lr_per_sample is None):
            raise ValueError("give exactly one of lr or lr_per_sample")
        return self


class MethodBase(Strict):
    id: str
    extends: str | None = None


class BaseMethod(MethodBase):
    method: Literal["base"]


LOSS_OF_METHOD = {"diffusion_dpo": "dpo", "mapo": "mapo", "sft": "sft"}


class FinetuneMethod(MethodBase):
    """One round of preference fine-tuning of the base model on the seed pairs."""

    method: Literal["diffusion_dpo", "mapo", "sft"]
    data: Literal["seed"] = "seed"
    train: TrainConfig

    @model_validator(mode="after")
    def _loss_follows_method(self) -> FinetuneMethod:
        want = LOSS_OF_METHOD[self.method]
        if "loss" in self.train.model_fields_set and self.train.loss != want:
            raise ValueError(f"train.loss {self.train.loss!r} contradicts method {self.method!r} (use {want!r})")
        self.train = self.train.model_copy(update={"loss": want})
        return self


class SailMethod(MethodBase):
    method: Literal["sail", "online_dpo"]
    iterations: int = Field(2, ge=0)
    candidates: int = Field(8, ge=2)  # N
    draws: int = Field(10, ge=1)  # K
    selection: Literal["best_worst", "random"] = "best_worst"
    ranker: str = "implicit"  # implicit | random | scorer:<metric>
    reward_reference: Literal["base", "previous", "iter0"] = "base"
    alpha: float = Field(0.75, ge=0, le=1)  # generated share of each iteration's training set
    train: TrainConfig  # iteration 0: Diffusion-DPO on the seed pairs
    iteration_train: dict[str, Any] = {}  # overrides of `train` for iterations >= 1
    sampler: SamplerConfig | None = None  # candidate generation; default: the evaluation sampler
    audit_metric: str | None = None  # toy only: how often the ranker's pairs agree with this judge

    def train_for(self, iteration: int) -> TrainConfig:
        if iteration == 0 or not self.iteration_train:
            return self.train
        return TrainConfig(**{**self.train.model_dump(), **self.iteration_train})

    @model_validator(mode="after")
    def _check(self) -> SailMethod:
        if not (self.ranker in ("implicit", "random") or self.ranker.startswith("scorer:")):
            raise ValueError(f"ranker {self.ranker!r}: use implicit, random or scorer:<metric>")
        self.train_for(1)  # validates the overrides
        return self


MethodConfig = Annotated[BaseMethod | FinetuneMethod | SailMethod, Field(discriminator="method")]
METHOD_CLASSES = {
    "base": BaseMethod,
    "diffusion_dpo": FinetuneMethod,
    "mapo": FinetuneMethod,
    "sft": FinetuneMethod,
    "sail": SailMethod,
    "online_dpo": SailMethod,
}


class Suite(Strict):
    name: str
    seed: int = 0
    output_dir: str | None = None  # default: runs/<name>
    tracking: TrackingConfig = TrackingConfig()
    backend: BackendConfig = BackendConfig()
    data: DataConfig = DataConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    methods: list[MethodConfig]

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        ids = [m.id for m in self.methods]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"method ids must be unique; repeated: {dup}")
        return self

    @property
    def out_dir(self) -> Path:
        return Path(self.output_dir or f"runs/{self.name}")

    def method(self, method_id: str):
        for m in self.methods:
            if m.id == method_id:
                return m
        raise UserError(f"no method with id {method_id!r} in suite {self.name!r}")


# ---------------------------------------------------------------------------------------------
# loading


def _read_yaml(path: Path) -> dict:
    if not path.exists():
        raise UserError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}:{where} not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def _resolve_extends(ref: str, suite_path: Path) -> Path:
    for base in (suite_path.parent, Path.cwd(), PROJECT_ROOT):
        if (base / ref).exists():
            return base / ref
    raise UserError(
        f"{suite_path}: extends: {ref!r} not found (looked next to the suite, in the cwd and in {PROJECT_ROOT})"
    )


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def apply_override(data: dict, assignment: str) -> None:
    """``key.path=value``; list items of ``methods`` may be addressed by their id."""
    if "=" not in assignment:
        raise UserError(f"--set {assignment!r}: expected key.path=value")
    key, raw = assignment.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else ""
    parts = key.strip().split(".")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            idx = next((j for j, item in enumerate(node) if isinstance(item, dict) and item.get("id") == part), None)
            if idx is None and part.isdigit() and int(part) < len(node):
                idx = int(part)
            if idx is None:
                ids = [item.get("id") for item in node if isinstance(item, dict)]
                raise UserError(f"--set {key}: no list item {part!r} (ids: {ids})")
            if last:
                node[idx] = value
            node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise UserError(f"--set {key}: {'.'.join(parts[:i])} is a value, not a mapping")


def _check_keys(data: Any, model: type[BaseModel], path: str, errors: list[str]) -> None:
    """Unknown keys with a 'did you mean' — pydantic only says 'extra inputs are not permitted'."""
    if not isinstance(data, dict):
        return
    fields = model.model_fields
    for k, v in data.items():
        where = f"{path}.{k}" if path else str(k)
        if k not in fields:
            close = difflib.get_close_matches(str(k), list(fields), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(fields)}"
            errors.append(f"{where}: unknown key — {hint}")
            continue
        sub = _model_of(fields[k].annotation)
        if k == "methods" and isinstance(v, list):
            for j, item in enumerate(v):
                cls = METHOD_CLASSES.get(item.get("method")) if isinstance(item, dict) else None
                if cls:
                    _check_keys(item, cls, f"{where}[{item.get('id', j)}]", errors)
        elif sub is not None:
            if isinstance(v, list):
                for j, item in enumerate(v):
                    _check_keys(item, sub, f"{where}[{j}]", errors)
            else:
                _check_keys(v, sub, where, errors)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _format_validation(e: ValidationError, data: dict) -> list[str]:
    lines = []
    for err in e.errors():
        loc = list(err["loc"])
        # discriminated unions insert the tag ("sail") into the path; show the method id instead
        parts: list[str] = []
        node: Any = data
        i = 0
        while i < len(loc):
            p = loc[i]
            if isinstance(p, int) and isinstance(node, list) and p < len(node):
                node = node[p]
                label = node.get("id", p) if isinstance(node, dict) else p
                parts[-1] = f"{parts[-1]}[{label}]" if parts else f"[{label}]"
                if isinstance(node, dict) and i + 1 < len(loc) and loc[i + 1] == node.get("method"):
                    i += 1
            else:
                parts.append(str(p))
                node = node.get(p) if isinstance(node, dict) else None
            i += 1
        where = ".".join(parts) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            lines.append(f"{where}: required key missing")
        elif err["type"] == "union_tag_invalid":
            lines.append(
                f"{where}.method: {err['input'].get('method')!r} is not a method — use one of {sorted(METHOD_CLASSES)}"
            )
        elif err["type"] == "union_tag_not_found":
            lines.append(f"{where}: missing `method:` (one of {sorted(METHOD_CLASSES)})")
        else:
            shown = err.get("input")
            value = "" if isinstance(shown, dict) else f" = {shown!r}"
            lines.append(f"{where}{value}: {msg}")
    return lines


def load_suite(path: str | Path, overrides: list[str] | None = None) -> Suite:
    """Read, merge, override and validate a suite; raises UserError with one line per problem."""
    path = Path(path)
    data = _read_yaml(path)
    data = {k: v for k, v in data.items() if not str(k).startswith("x-")}  # anchors for reuse only
    methods = data.get("methods")
    if isinstance(methods, list):
        merged = []
        for m in methods:
            if isinstance(m, dict) and m.get("extends"):
                recipe = _read_yaml(_resolve_extends(m["extends"], path))
                m = deep_merge(recipe, m)
            merged.append(m)
        data["methods"] = merged
    for assignment in overrides or []:
        apply_override(data, assignment)
    return validate_suite(data, str(path))


def validate_suite(data: dict, where: str) -> Suite:
    """A Suite from plain data; every problem becomes one line "<where>: <key>: <what is wrong>"."""
    errors: list[str] = []
    _check_keys(data, Suite, "", errors)
    if not errors:
        try:
            return Suite.model_validate(data)
        except ValidationError as e:
            errors = _format_validation(e, data)
    raise UserError("\n".join(f"{where}: {line}" for line in errors))
