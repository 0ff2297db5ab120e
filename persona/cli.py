"""`persona`: drive Persona from a shell. Subcommands stay thin and delegate to
the module that owns the work (`infra/local/` for the local runtime,
`infra/openapi.py` for the API contract, `models/` for the recommender)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.local.runtime import Endpoints
    from models.data import Interactions

DEFAULT_STATE_DIR = Path(".persona")


def _up(args: argparse.Namespace) -> int:
    from infra.local import demo
    from infra.local.runtime import LocalRuntime

    runtime = LocalRuntime(
        host=args.host, api_port=args.port, aws_port=args.aws_port, state_dir=args.state_dir, log_level=args.log_level
    )
    print("persona: starting the local runtime (moto, API gateway, queue dispatcher)...", flush=True)
    try:
        endpoints = runtime.start()
    except OSError as exc:  # typically a port already in use
        print(f"persona up: cannot listen ({exc}); is another instance running? Choose ports with --port/--aws-port.", file=sys.stderr)
        return 1
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        if args.demo:
            result = demo.load(endpoints, Path(args.state_dir))
            shop = result["shop"]
            print(f"persona: demo shop: {shop['products']} products; model {shop['model_version']} trained on "
                  f"{shop['trained_on']} interactions", flush=True)
            print(f"persona: demo data: {result['events']['accepted']} storefront events accepted; "
                  f"experiment {result['experiment']} running", flush=True)
            if "dropped" in result:
                print(f"persona: demo data: CRM exports (generated customers, CDNOW's 1/10 sample of real orders) dropped into "
                      f"{', '.join(result['dropped'])} (imported in the background; see /v1/imports)", flush=True)
        print(
            "\n".join(
                [
                    f"  API             {endpoints.api_url}   (try {endpoints.api_url}/healthz)",
                    f"  OpenAPI         {endpoints.api_url}/v1/openapi.json",
                    f"  AWS endpoint    {endpoints.aws_endpoint_url}   (aws --endpoint-url {endpoints.aws_endpoint_url} dynamodb list-tables)",
                    f"  admin API key   {endpoints.admin_api_key}   (header x-api-key)",
                    f"  server key      {endpoints.server_key}   (header x-persona-server-key: the retailer's backend, /v1/server/*)",
                    f"  state           {Path(args.state_dir) / 'local.json'}",
                    "persona: running; Ctrl-C stops it.",
                ]
            ),
            flush=True,
        )
        stopped.wait()
    finally:
        print("persona: stopping...", flush=True)
        runtime.stop()
    print("persona: stopped.", flush=True)
    return 0


def _drop(args: argparse.Namespace) -> int:
    from infra.local.drop import drop
    from infra.local.runtime import read_state

    try:
        mapping = Path(args.mapping) if args.mapping else None
        location = drop(Path(args.file), args.kind, read_state(args.state_dir), mapping=mapping)
    except (FileNotFoundError, ValueError) as exc:
        print(f"persona drop: {exc}", file=sys.stderr)
        return 2
    print(f"dropped {args.file} -> {location}")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from infra.local.publish import PublishError, publish, use_local_instance
    from infra.local.runtime import read_state

    try:
        bucket = args.bucket or use_local_instance(read_state(args.state_dir))
        for line in publish(bucket, args.model, args.catalog, args.rules):
            print(f"published {line}" if not line.startswith("warning") else line)
    except (PublishError, FileNotFoundError) as exc:
        print(f"persona publish: {exc}", file=sys.stderr)
        return 2
    return 0


def _copy_back(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import ClientError

    from infra import copy_back

    names = {"--privacy-table": args.privacy_table, "--profiles-table": args.profiles_table,
             "--privacy-keys-secret": args.privacy_keys_secret, "--profiles-keys-secret": args.profiles_keys_secret}
    if any(names.values()) and not all(names.values()):
        missing = ", ".join(flag for flag, value in names.items() if not value)
        print(f"persona copy-back: in AWS give all four live names (missing {missing}); locally none", file=sys.stderr)
        return 2
    connection: dict = {}
    if not all(names.values()):  # the running local instance
        from infra.local.provision import physical_name
        from infra.local.runtime import read_state

        try:
            endpoints = read_state(args.state_dir)
        except FileNotFoundError as exc:
            print(f"persona copy-back: {exc} (in AWS, give the live tables and secrets: see docs/operations.md)", file=sys.stderr)
            return 2
        connection = {"endpoint_url": endpoints.aws_endpoint_url, "region_name": endpoints.region,
                      "aws_access_key_id": "local", "aws_secret_access_key": "local"}
        args.privacy_table, args.profiles_table = endpoints.tables["privacy"], endpoints.tables["profiles"]
        args.privacy_keys_secret, args.profiles_keys_secret = physical_name("secret", "privacy_keys"), physical_name("secret", "profiles_keys")
    dynamodb, secrets = boto3.resource("dynamodb", **connection), boto3.client("secretsmanager", **connection)
    try:
        for table in (args.source, args.target):
            dynamodb.Table(table).load()  # a clear message for a wrong name, before anything is read
        erased = copy_back.load_erased(dynamodb, secrets, privacy_table=args.privacy_table, profiles_table=args.profiles_table,
                                       privacy_secret=args.privacy_keys_secret, profiles_secret=args.profiles_keys_secret)
        scan, put = copy_back.table_copier(dynamodb, args.source, args.target, overwrite=args.overwrite, dry_run=args.dry_run)
        outcome = copy_back.copy_back(scan, put, erased, progress=lambda n: _note(f"persona copy-back: {n} items read"))
    except ClientError as exc:
        print(f"persona copy-back: {exc.response['Error'].get('Message') or exc}", file=sys.stderr)
        return 2
    result = {**outcome.as_dict(), "from": args.source, "to": args.target, "dry_run": args.dry_run, "overwrite": args.overwrite,
              "erasure_hashes_known": len(erased.proofs) + len(erased.suppressed)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        verb = "would copy" if args.dry_run else "copied"
        print(f"{verb} {outcome.copied} of {outcome.scanned} items from {args.source} to {args.target}; "
              f"left out {outcome.skipped_erased} about people erased since the restore point"
              + (f" ({', '.join(f'{p}: {n}' for p, n in sorted(outcome.erased_by_prefix.items()))})" if outcome.skipped_erased else "")
              + (f"; {outcome.skipped_existing} already in {args.target} kept (--overwrite replaces them)" if outcome.skipped_existing else ""))
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from infra import openapi

    rendered = openapi.render(openapi.build_document())
    if args.check:
        current = openapi.DOCUMENT_PATH.read_text() if openapi.DOCUMENT_PATH.exists() else ""
        if current != rendered:
            print(f"{openapi.DOCUMENT_PATH} is out of date: run `persona openapi`", file=sys.stderr)
            return 1
        print(f"{openapi.DOCUMENT_PATH} is current")
        return 0
    openapi.DOCUMENT_PATH.write_text(rendered)
    print(f"wrote {openapi.DOCUMENT_PATH}")
    return 0


def _running_instance(args: argparse.Namespace) -> Endpoints | None:
    """The running local instance, or None after saying there is none (`persona <command>: ...`)."""
    from infra.local.runtime import read_state

    try:
        return read_state(args.state_dir)
    except FileNotFoundError as exc:
        print(f"persona {args.command}: {exc}", file=sys.stderr)
        return None


def _outbox(args: argparse.Namespace) -> int:
    from infra.local import outbox

    if (endpoints := _running_instance(args)) is None:
        return 1
    try:
        found = outbox.messages(endpoints)
    except OSError as exc:
        print(f"persona outbox: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(found, indent=2) if args.json else outbox.render(found))
    return 0


def _status(args: argparse.Namespace) -> int:
    from infra.local.dead_letters import raised_alarms

    if (endpoints := _running_instance(args)) is None:
        return 1
    print(json.dumps({**endpoints.__dict__, "alarms": raised_alarms(args.state_dir)}, indent=2))
    return 0


def _dlq(args: argparse.Namespace) -> int:
    from infra.local import dead_letters

    if (endpoints := _running_instance(args)) is None:
        return 1
    rows = dead_letters.depths(endpoints)
    print(json.dumps(rows, indent=2) if args.json else dead_letters.render_depths(rows))
    return 0


def _redrive(args: argparse.Namespace) -> int:
    from infra.local import dead_letters

    if (endpoints := _running_instance(args)) is None:
        return 1
    if args.all == bool(args.queue):
        print("persona redrive: name one QUEUE or give --all; queues: " + ", ".join(sorted(endpoints.queues)), file=sys.stderr)
        return 2
    try:
        queue_ids = sorted(endpoints.queues) if args.all else [dead_letters.resolve(args.queue, endpoints.queues)]
    except dead_letters.UnknownQueue as exc:
        print(f"persona redrive: {exc}", file=sys.stderr)
        return 2
    rows = dead_letters.redrive(endpoints, queue_ids, limit=args.max, dry_run=args.dry_run)
    if args.all and not args.json:
        rows = [r for r in rows if r["moved"] or r["left"]]  # the queues that had any
        if not rows:
            print("no dead letters in any queue")
            return 0
    print(json.dumps(rows, indent=2) if args.json else dead_letters.render_redrive(rows))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    import urllib.error
    import urllib.request

    from infra.local import simulate
    from infra.local.runtime import read_state

    try:
        endpoints = read_state(args.state_dir)
        with urllib.request.urlopen(f"{endpoints.api_url}/healthz", timeout=10):
            pass
    except FileNotFoundError as exc:
        print(f"persona simulate: {exc}", file=sys.stderr)
        return 2
    except (urllib.error.URLError, OSError) as exc:
        print(f"persona simulate: no running local runtime answers at {endpoints.api_url} ({exc}): start one with `make up`.",
              file=sys.stderr)
        return 2
    try:
        summary = simulate.simulate(endpoints, visitors=args.visitors, experiment=args.experiment, lift=args.lift,
                                    base_rate=args.base_rate, seed=args.seed, workers=args.workers,
                                    progress=lambda line: _note(f"persona simulate: {line}"))
    except (simulate.SimulationError, ValueError) as exc:
        print(f"persona simulate: {exc}", file=sys.stderr)
        return 2
    except simulate.RuntimeBacklogged as exc:
        print(f"persona simulate: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2) if args.json else simulate.render(summary))
    if simulate.failure_share(summary) > simulate.MAX_FAILURE_SHARE:
        print(f"persona simulate: {summary['failed_requests']} of {summary['requests']} requests failed "
              f"(more than {simulate.MAX_FAILURE_SHARE:.0%}); the results are not what the summary says", file=sys.stderr)
        return 1
    return 0


def _reporting_data_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Bad input to a models command is the user's to fix: its message and exit code 2, no traceback."""

    def run(args: argparse.Namespace) -> int:
        from models.data import DataError

        try:
            return command(args)
        except DataError as exc:
            print(f"persona {args.command}: {exc}", file=sys.stderr)
            return 2

    return run


def _note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _describe(data: Interactions) -> str:
    skipped = f" ({data.skipped} rows without item interest skipped)" if data.skipped else ""
    return f"{len(data.user_ids)} users, {len(data.item_ids)} items, {len(data)} interactions from {data.source}{skipped}"


@_reporting_data_errors
def _train(args: argparse.Namespace) -> int:
    from models.data import load_interactions
    from models.train import train_model

    started = time.perf_counter()
    data = load_interactions(args.interactions)
    _note(f"persona train: {_describe(data)}")
    if args.evaluate:
        _note("persona train: evaluating on the hold-out split first...")
    metadata = train_model(data, args.out, algorithm=args.algorithm, factors=args.factors, evaluate=args.evaluate)
    _note(f"persona train: {metadata.model_version} written to {args.out} in {time.perf_counter() - started:.1f} s")
    for name, value in metadata.metrics.items():
        _note(f"  {name:<14}{value:.4f}")
    print(json.dumps({"model_dir": str(args.out), "model_version": metadata.model_version, "metrics": metadata.metrics}))
    return 0


@_reporting_data_errors
def _evaluate(args: argparse.Namespace) -> int:
    from models.data import load_interactions
    from models.evaluate import compare

    started = time.perf_counter()
    data = load_interactions(args.interactions)
    _note(f"persona evaluate: {_describe(data)}")
    comparison = compare(data, k=args.k, factors=args.factors, with_implicit=args.implicit, progress=lambda line: _note(f"persona evaluate: {line}"))
    _note(f"persona evaluate: done in {time.perf_counter() - started:.1f} s ({comparison.split['evaluated_users']} users evaluated)")
    print(json.dumps(comparison.as_json(), indent=2) if args.json else comparison.table())
    return 0


@_reporting_data_errors
def _recommend_batch(args: argparse.Namespace) -> int:
    from models.batch import Recommender, read_user_ids, recommend_batch
    from models.data import load_interactions

    recommender = Recommender(args.model)
    users = read_user_ids(args.users)
    interactions = load_interactions(args.interactions) if args.interactions else None
    if interactions is None:
        _note("persona recommend-batch: no --interactions, so nobody has a history: everyone gets the most popular items")
    personalized = 0
    for recommendation in recommend_batch(recommender, users, args.n, interactions):
        personalized += recommendation["personalized"]
        print(json.dumps(recommendation))
    _note(f"persona recommend-batch: {len(users)} users, {personalized} personalized, {len(users) - personalized} popular items")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from functions.results.statistics import StatisticsInputError, analyze

    try:
        result = analyze(json.loads(sys.stdin.read()))
    except json.JSONDecodeError as exc:
        print(f"persona stats: invalid JSON on standard input ({exc})", file=sys.stderr)
        return 2
    except StatisticsInputError as exc:
        print(f"persona stats: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, allow_nan=False))
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="persona", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="where the runtime keeps local.json (default .persona)")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", parents=[common], help="run the whole system locally with demo data (Ctrl-C stops it)")
    up.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    up.add_argument("--port", type=int, default=8080, help="HTTP API port (default 8080; 0 picks a free one)")
    up.add_argument("--aws-port", type=int, default=4566, help="moto (AWS endpoint) port (default 4566; 0 picks a free one)")
    up.add_argument("--no-demo", dest="demo", action="store_false", help="start empty, without demo data")
    up.add_argument("--log-level", default="WARNING", help="handler log level (default WARNING; INFO shows every request)")
    up.set_defaults(run=_up)

    drop = commands.add_parser("drop", parents=[common], help="put a CRM/orders/campaign export into the running instance's drop bucket")
    drop.add_argument("file", help="the export file (CSV, JSON Lines, optionally gzip)")
    drop.add_argument("--kind", default="customers", choices=("customers", "orders", "campaign"), help="what the file holds (default customers)")
    drop.add_argument("--mapping", help="a mapping file (JSON: columns, delimiter, date_format, ...) uploaded next to the export")
    drop.set_defaults(run=_drop)

    box = commands.add_parser("outbox", parents=[common], help="show the messages sent to data subjects (verification links), newest first")
    box.add_argument("--json", action="store_true", help="print them as JSON")
    box.set_defaults(run=_outbox)

    status = commands.add_parser("status", parents=[common], help="print the running instance's endpoints and the dead-letter alarms it raised")
    status.set_defaults(run=_status)

    dlq = commands.add_parser("dlq", parents=[common], help="dead letters per consumer queue of the running instance, with alarm state")
    dlq.add_argument("--json", action="store_true", help="print them as JSON")
    dlq.set_defaults(run=_dlq)

    redrive = commands.add_parser("redrive", parents=[common],
                                  help="move a queue's dead letters back to it for another try (after fixing the cause)")
    redrive.add_argument("queue", nargs="?", help="queue id (results_aggregation) or name (persona-results-aggregation)")
    redrive.add_argument("--all", action="store_true", help="every queue that has dead letters")
    redrive.add_argument("--max", type=_positive_int, help="move at most N messages per queue (default: all waiting)")
    redrive.add_argument("--dry-run", action="store_true", help="only say how many would move")
    redrive.add_argument("--json", action="store_true", help="print the result as JSON")
    redrive.set_defaults(run=_redrive)

    sim = commands.add_parser("simulate", parents=[common],
                              help="drive realistic storefront traffic with a known true lift in one experiment into the running instance")
    sim.add_argument("--visitors", type=_positive_int, default=200, help="simulated visitors (default 200: about a minute and a half on `make up`)")
    sim.add_argument("--experiment", default="hero-banner", help="the running experiment that gets the lift (default hero-banner)")
    sim.add_argument("--lift", type=float, default=0.3, help="true relative lift of the purchase rate in the treatment variant(s) (default 0.3)")
    sim.add_argument("--base-rate", type=float, default=0.1, help="purchase probability of a visitor outside the treatment (default 0.1)")
    sim.add_argument("--seed", type=int, help="seed for reproducible draws (the visitor ids stay unique per run)")
    sim.add_argument("--workers", type=_positive_int, default=16, help="concurrent visitors (default 16)")
    sim.add_argument("--json", action="store_true", help="print the summary as JSON")
    sim.set_defaults(run=_simulate)

    pub = commands.add_parser("publish", parents=[common], help="publish a trained model, the catalog and/or rules to the models bucket")
    pub.add_argument("--model", type=Path, help="a model folder written by `persona train`")
    pub.add_argument("--catalog", type=Path, help="the product feed: JSON {\"items\": [{item_id, title, category, brand, price, stock, ...}]}")
    pub.add_argument("--rules", type=Path, help="business rules: JSON (see functions/recommend/rules.py)")
    pub.add_argument("--bucket", help="a models bucket in AWS (default credentials); without it, the running local instance's")
    pub.set_defaults(run=_publish)

    back = commands.add_parser("copy-back", parents=[common],
                               help="copy items from a point-in-time-restored table into the live one, leaving out people erased since")
    back.add_argument("source", help="the restored table (aws dynamodb restore-table-to-point-in-time ... --target-table-name)")
    back.add_argument("target", help="the live table")
    back.add_argument("--overwrite", action="store_true", help="replace items the live table has (default: only copy missing ones)")
    back.add_argument("--dry-run", action="store_true", help="only count what would be copied and left out")
    back.add_argument("--json", action="store_true", help="print the result as JSON")
    for flag, what in (("--privacy-table", "the live privacy table (erasure proofs)"), ("--profiles-table", "the live profiles table (suppression list)"),
                       ("--privacy-keys-secret", "the privacy_keys secret"), ("--profiles-keys-secret", "the profiles_keys secret")):
        back.add_argument(flag, help=f"in AWS: {what}, from the stack's outputs; locally taken from the running instance")
    back.set_defaults(run=_copy_back)

    spec = commands.add_parser("openapi", parents=[common], help="regenerate functions/platform/openapi.json from the handlers")
    spec.add_argument("--check", action="store_true", help="only check that the committed document is current")
    spec.set_defaults(run=_openapi)

    # Choices and defaults are spelled out rather than read from models.train: importing
    # it here would load numpy for every command, `persona up` included.
    data_help = "interactions: CSV (user_id,item_id[,weight][,timestamp][,type]), JSON lines of InteractionRecorded, or movielens-100k"
    train = commands.add_parser("train", help="train a recommender and write its model folder (model.onnx, metadata.json, copurchase.npz)")
    train.add_argument("--interactions", required=True, help=data_help)
    train.add_argument("--out", required=True, type=Path, help="the model folder to write")
    train.add_argument("--algorithm", default="lrla", choices=("lrla", "ials"), help="lrla: low-rank linear autoencoder (default); ials: implicit ALS")
    train.add_argument("--factors", type=_positive_int, default=64, help="latent factors (default 64)")
    train.add_argument("--evaluate", action="store_true", help="also measure the settings on the hold-out split and record the metrics")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="compare our recommenders, popularity and implicit's ALS on a hold-out split")
    evaluate.add_argument("--interactions", required=True, help=data_help)
    evaluate.add_argument("--k", type=_positive_int, default=10, help="length of the ranked lists (default 10)")
    evaluate.add_argument("--factors", type=_positive_int, default=64, help="latent factors (default 64)")
    evaluate.add_argument("--no-implicit", dest="implicit", action="store_false", help="leave implicit's ALS out (it fits a grid of settings)")
    evaluate.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    evaluate.set_defaults(run=_evaluate)

    batch = commands.add_parser("recommend-batch", help="print top-n items per user as JSON lines, using the model's ONNX graph")
    batch.add_argument("--model", required=True, type=Path, help="a model folder written by `persona train`")
    batch.add_argument("--users", required=True, help="user ids, one per line or a CSV with a user_id column")
    batch.add_argument("--n", type=_positive_int, default=10, help="items per user (default 10)")
    batch.add_argument("--interactions", help="where the users' histories come from (same formats as train); without it everyone gets popular items")
    batch.set_defaults(run=_recommend_batch)

    stats = commands.add_parser("stats", help="A/B test statistics: variant totals as JSON on stdin -> lifts, intervals, p-values, SRM check")
    stats.set_defaults(run=_stats)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
