"""The `sail-bench` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .errors import MissingInput, UserError


def _suite_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("suite", help="suite YAML, e.g. suites/toy.yaml")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a suite value (repeatable); methods are addressed by id: methods.sail.alpha=1",
    )
    p.add_argument("--limit", type=int, help="evaluate only the first N prompts of every group of every benchmark")


def _load(args):
    from .config import load_suite

    suite = load_suite(args.suite, args.overrides)
    if getattr(args, "limit", None):
        benchmarks = [b.model_copy(update={"limit": args.limit}) for b in suite.evaluation.benchmarks]
        suite = suite.model_copy(update={"evaluation": suite.evaluation.model_copy(update={"benchmarks": benchmarks})})
    return suite


def cmd_validate(args) -> int:
    from .pipeline import Pipeline
    from .runner import build_plan

    suite = _load(args)
    try:
        build_plan(Pipeline(suite))  # names (methods, rankers, sources) and data sizes resolve
    except MissingInput as e:
        print(
            f"{args.suite}: schema ok — suite {suite.name!r}, {len(suite.methods)} methods; "
            f"inputs not present on this machine, stages not resolved:\n  {e}"
        )
        return 0
    print(f"{args.suite}: ok — suite {suite.name!r}, {len(suite.methods)} methods, backend {suite.backend.name}")
    return 0


def cmd_plan(args) -> int:
    from .pipeline import Pipeline
    from .runner import plan_rows

    suite = _load(args)
    try:
        rows = plan_rows(Pipeline(suite))
    except MissingInput as e:
        print(f"cannot compute the stages of {suite.name!r} here: {e}")
        for m in suite.methods:
            iters = getattr(m, "iterations", None)
            print(f"  {m.id:<16} {m.method}" + (f", iteration 0 + {iters} SAIL iterations" if iters else ""))
        return 0
    width = max(len(r["label"]) for r in rows)
    for r in rows:
        print(f"{'done' if r['done'] else 'todo':4}  {r['kind']:<12} {r['key']}  {r['label']:<{width}}")
    todo = sum(not r["done"] for r in rows)
    print(f"{len(rows)} stages, {len(rows) - todo} done, {todo} to run (output: {suite.out_dir})")
    return 0


def cmd_run(args) -> int:
    from .report.tables import markdown_table
    from .runner import run_suite

    suite = _load(args)
    result = run_suite(suite, args.tracking_uri)
    print(markdown_table(result.frame()))
    print(
        f"\n{result.stages_run} stages run in {result.seconds:.0f} s; MLflow parent run {result.parent_run_id} "
        f"at {args.tracking_uri or suite.tracking.uri}"
    )
    return 0


def cmd_eval(args) -> int:
    from .evaluate import evaluate_model
    from .report.tables import markdown_table

    sampler = {k: v for k, v in (("name", args.sampler), ("steps", args.steps), ("guidance", args.guidance)) if v}
    df = evaluate_model(
        args.model,
        args.benchmarks,
        args.metrics,
        backend=args.backend,
        sampler=sampler,
        limit=args.limit,
        seed=args.seed,
        output_dir=args.output_dir,
        tracking_uri=args.tracking_uri,
        experiment=args.experiment,
        vs_base=args.vs_base,
        device=args.device,
        dtype=args.dtype,
    )
    print(markdown_table(df))
    print(
        f"\nlogged to experiment {args.experiment!r} at {args.tracking_uri}; images and scores under {args.output_dir}"
    )
    return 0


def cmd_report(args) -> int:
    from .report.mlflow_reader import results_frame
    from .report.tables import markdown_table

    if args.suite:
        suite = _load(args)
        uri = args.tracking_uri or suite.tracking.uri
        experiment = args.experiment or suite.tracking.experiment or suite.name
    else:
        if not args.experiment:
            raise UserError("report: give --suite SUITE or --experiment NAME")
        uri, experiment = args.tracking_uri or "sqlite:///mlflow.db", args.experiment
    table = markdown_table(results_frame(uri, experiment, args.run_id))
    print(table)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        from .io import atomic_write_text

        atomic_write_text(out / "results.md", table + "\n")
        print(f"wrote {out / 'results.md'}")
    return 0


def cmd_ls(args) -> int:
    from .backends import BACKENDS
    from .data.sources import PREFERENCE_SOURCES
    from .evaluation.benchmarks import BENCHMARKS
    from .methods import METHODS
    from .metrics import METRICS

    for title, reg in (
        ("backends", BACKENDS),
        ("methods", METHODS),
        ("metrics", METRICS),
        ("benchmarks", BENCHMARKS),
        ("preference sources", PREFERENCE_SOURCES),
    ):
        print(f"{title}:")
        for name, doc in reg.describe():
            print(f"  {name:<16} {doc}")
    print(
        "rankers:\n  implicit         SAIL self-reward (paper eq. 8-10)\n"
        "  scorer:<metric>  an external scorer (OnlineDPO)\n  random           control"
    )
    return 0


def cmd_toy_pretrain(args) -> int:
    from .toy.pretrain import pretrain

    meta = pretrain(Path(args.out), steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    print(f"wrote {args.out}: {meta}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sail-bench", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every stage")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run a suite: train, generate, rank, evaluate; log to MLflow")
    _suite_args(p)
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: the suite's, sqlite:///mlflow.db)")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser(
        "eval",
        help="score one model (base or a sail-bench checkpoint) on benchmarks x metrics",
        description="Benchmarks and metrics are names with optional options: "
        "partiprompts:limit=50,path=PartiPrompts.tsv  hpsv2:version=v2.1,weights=HPS_v2.1_compressed.pt",
    )
    p.add_argument("--model", required=True, help="a checkpoint directory sail-bench wrote, a hub id, or a path")
    p.add_argument("--backend", choices=["toy", "sd15", "sdxl"], help="for a base model (a checkpoint knows its own)")
    p.add_argument("--benchmarks", nargs="+", required=True, metavar="NAME[:k=v,...]")
    p.add_argument("--metrics", nargs="+", required=True, metavar="NAME[:k=v,...]")
    p.add_argument("--limit", type=int, help="the first N prompts of every group of every benchmark")
    p.add_argument("--sampler", choices=["ddim", "ddpm", "euler"], help="default: the paper's for the backend")
    p.add_argument("--steps", type=int)
    p.add_argument("--guidance", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vs-base", action="store_true", help="also evaluate the base model; paired differences")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--dtype", choices=["fp32", "fp16", "bf16"])
    p.add_argument("--output-dir", default="runs/eval")
    p.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    p.add_argument("--experiment", default="sail-bench-eval")
    p.set_defaults(fn=cmd_eval)

    p = sub.add_parser("validate", help="check a suite file without running anything")
    _suite_args(p)
    p.set_defaults(fn=cmd_validate)

    p = sub.add_parser("plan", help="list the stages a suite needs and which are already done")
    _suite_args(p)
    p.set_defaults(fn=cmd_plan)

    p = sub.add_parser("report", help="results table read back from MLflow")
    p.add_argument("--suite")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--experiment")
    p.add_argument("--tracking-uri")
    p.add_argument("--run-id", help="a specific parent run (default: the latest finished one)")
    p.add_argument("--out", help="directory to write results.md into")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("ls", help="registered backends, methods, metrics, benchmarks")
    p.set_defaults(fn=cmd_ls)

    toy = sub.add_parser("toy", help="the embedded toy world").add_subparsers(dest="toy_command", required=True)
    p = toy.add_parser("pretrain", help="train the toy base model (the shipped checkpoint uses the defaults)")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=1600)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(fn=cmd_toy_pretrain)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return args.fn(args)
    except UserError as e:
        for line in str(e).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; completed stages are kept, run again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
