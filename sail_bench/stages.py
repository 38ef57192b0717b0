"""Cached, resumable stages.

A stage is one unit of work (train an iteration, generate candidates, rank, generate evaluation
images, score). Its content key hashes its kind, a version, its config slice and the keys of the
stages it reads, so two methods that ask for the same work (SAIL's iteration 0 and the
Diffusion-DPO-on-seed baseline) share one stage, and changing anything upstream re-runs exactly
what depends on it.

A stage writes into a temporary directory; when it returns, a completion record is written and
the directory is moved into place in one rename. A directory without a record is never read,
so an interrupted run resumes at the first unfinished stage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .io import atomic_write_json, replace_dir

log = logging.getLogger(__name__)

RECORD = "_stage.json"

StageFn = Callable[[Path, dict[str, Path]], dict]


@dataclass(eq=False)
class Stage:
    kind: str
    version: int
    params: dict[str, Any]
    deps: dict[str, Stage]
    fn: StageFn = field(repr=False)
    label: str = ""  # human-readable, e.g. "sail/iter_1/rank"

    @property
    def key(self) -> str:
        payload = {
            "kind": self.kind,
            "version": self.version,
            "params": self.params,
            "deps": {name: dep.key for name, dep in sorted(self.deps.items())},
        }
        blob = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class StageStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "stages"
        self.ran: list[Stage] = []  # stages executed by this process, in order

    def path(self, stage: Stage) -> Path:
        return self.root / stage.kind / stage.key

    def is_done(self, stage: Stage) -> bool:
        return (self.path(stage) / RECORD).exists()

    def record(self, stage: Stage) -> dict:
        return json.loads((self.path(stage) / RECORD).read_text())

    def ensure(self, stage: Stage) -> Path:
        """Run ``stage`` (after its dependencies) unless a completed copy exists; return its directory."""
        final = self.path(stage)
        if (final / RECORD).exists():
            return final
        dep_dirs = {name: self.ensure(dep) for name, dep in stage.deps.items()}
        tmp = final.with_name(f".tmp-{stage.key}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        log.info("stage %s %s (%s) starting", stage.kind, stage.key, stage.label)
        t0 = time.time()
        try:
            summary = stage.fn(tmp, dep_dirs) or {}
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        record = {
            "kind": stage.kind,
            "key": stage.key,
            "version": stage.version,
            "label": stage.label,
            "params": stage.params,
            "deps": {n: d.key for n, d in stage.deps.items()},
            "summary": summary,
            "seconds": round(time.time() - t0, 2),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        atomic_write_json(tmp / RECORD, record)
        replace_dir(tmp, final)
        self.ran.append(stage)
        log.info("stage %s %s done in %.1fs", stage.kind, stage.key, record["seconds"])
        return final

    def link(self, stage: Stage, alias: Path) -> None:
        """A readable name for a stage directory: <output>/<method>/iter_<k>/<role> → stages/..."""
        alias = Path(alias)
        alias.parent.mkdir(parents=True, exist_ok=True)
        target = os.path.relpath(self.path(stage), alias.parent)
        tmp = alias.with_name(f".{alias.name}.link-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)
        os.replace(tmp, alias)


def hash_json(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
