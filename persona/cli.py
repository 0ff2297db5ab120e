"""`persona`: drive Persona from a shell. Subcommands stay thin and delegate to
the module that owns the work (`infra/local/` for the local runtime,
`infra/openapi.py` for the API contract)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

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
            result = demo.load(endpoints)
            print(f"persona: demo data: {result['events']['accepted']} storefront events accepted", flush=True)
            if "dropped" in result:
                print(f"persona: demo data: CDNOW orders dropped into {result['dropped']} (imported in the background; see /v1/imports)", flush=True)
        print(
            "\n".join(
                [
                    f"  API             {endpoints.api_url}   (try {endpoints.api_url}/healthz)",
                    f"  OpenAPI         {endpoints.api_url}/v1/openapi.json",
                    f"  AWS endpoint    {endpoints.aws_endpoint_url}   (aws --endpoint-url {endpoints.aws_endpoint_url} dynamodb list-tables)",
                    f"  admin API key   {endpoints.admin_api_key}   (header x-api-key)",
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


def _outbox(args: argparse.Namespace) -> int:
    from infra.local import outbox
    from infra.local.runtime import read_state

    try:
        found = outbox.messages(read_state(args.state_dir))
    except (FileNotFoundError, OSError) as exc:
        print(f"persona outbox: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(found, indent=2) if args.json else outbox.render(found))
    return 0


def _status(args: argparse.Namespace) -> int:
    from infra.local.runtime import read_state

    try:
        print(json.dumps(read_state(args.state_dir).__dict__, indent=2))
    except FileNotFoundError as exc:
        print(f"persona status: {exc}", file=sys.stderr)
        return 1
    return 0


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

    status = commands.add_parser("status", parents=[common], help="print the running instance's endpoints")
    status.set_defaults(run=_status)

    spec = commands.add_parser("openapi", parents=[common], help="regenerate functions/platform/openapi.json from the handlers")
    spec.add_argument("--check", action="store_true", help="only check that the committed document is current")
    spec.set_defaults(run=_openapi)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
