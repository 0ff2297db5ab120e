"""`persona up`: the whole system in one process, no AWS account, no Docker.

moto's server holds every table, bucket, queue, bus and rule of the topology;
`Gateway` turns HTTP requests into API Gateway events for the real handlers;
`Dispatcher` drains consumer queues like event-source mappings (S3
notifications of the drop bucket arrive the same way); `Scheduler` fires
schedules. Endpoints and the admin API key are printed and written to
`<state_dir>/local.json` for `persona drop` and other clients.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from infra.local.dead_letters import DeadLetterAlarms
from infra.local.dispatcher import Dispatcher
from infra.local.gateway import Gateway
from infra.local.invoke import Invoker
from infra.local.provision import REGION, Provisioned, provision
from infra.local.scheduler import Scheduler
from infra.topology import TOPOLOGY, Topology
from shared import settings
from shared.aws import clients

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_FILE = "local.json"
log = logging.getLogger("persona.local")

# What every handler sees locally besides the resource names.
BASE_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
    "POWERTOOLS_METRICS_DISABLED": "true",  # EMF lines would drown the console
    "MODEL_CHECK_INTERVAL_S": "2",  # a newly published model serves within seconds (AWS: every minute)
}


@dataclass(frozen=True)
class Endpoints:
    api_url: str
    aws_endpoint_url: str
    region: str
    admin_api_key: str
    # The retailer's backend's credential for /v1/server/ routes (header x-persona-server-key; IAM in AWS).
    server_key: str
    drop_bucket: str
    tables: dict[str, str]
    buckets: dict[str, str]
    queues: dict[str, str]
    dead_letter_queues: dict[str, str]
    event_bus: str


class LocalRuntime:
    _live: list[LocalRuntime] = []  # started and not yet stopped, in this process
    def __init__(
        self,
        topology: Topology = TOPOLOGY,
        *,
        host: str = "127.0.0.1",
        api_port: int = 8080,
        aws_port: int = 4566,
        state_dir: Path = REPO_ROOT / ".persona",
        web_root: Path | None = REPO_ROOT / "web",
        poll_wait_s: int = 1,
        retry_delay_s: int = 1,
        alarm_interval_s: float = 2.0,
        log_level: str = "WARNING",
    ) -> None:
        self.topology = topology
        self.host = host
        self.api_port = api_port
        self.aws_port = aws_port
        self.state_dir = Path(state_dir)
        self.web_root = web_root
        self.poll_wait_s = poll_wait_s
        self.retry_delay_s = retry_delay_s
        self.alarm_interval_s = alarm_interval_s
        self.log_level = log_level
        self.api_key = secrets.token_urlsafe(24)
        self.server_key = secrets.token_urlsafe(24)
        self.invoker = Invoker()
        self.resources: Provisioned | None = None
        self.endpoints: Endpoints | None = None
        self._saved_env: dict[str, str | None] = {}
        self._moto: Any = None
        self._aws_endpoint = ""
        self.gateway: Gateway | None = None
        self.dispatcher: Dispatcher | None = None
        self.scheduler: Scheduler | None = None
        self.alarms: DeadLetterAlarms | None = None  # `alarms.raised`: every dead-letter alarm so far
        self._session_key: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Endpoints:
        from infra.local.aws_server import LocalAwsServer

        # moto keeps one state per process: a second runtime's dispatcher would consume the first one's queues.
        running = [r for r in LocalRuntime._live if r is not self]
        if running:
            raise RuntimeError(f"another local runtime is running in this process ({running[0].state_dir}): stop it first")
        for port in (self.aws_port, self.api_port):
            _ensure_free(self.host, port)  # a clear message instead of a bind error deep in a thread
        LocalRuntime._live.append(self)  # until stop(), which a failed start calls too

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        try:
            self._moto = LocalAwsServer(self.host, self.aws_port)
            self._moto.start()
            aws_endpoint = self._aws_endpoint = self._moto.endpoint
            # moto keeps its state per process: start from empty, as a fresh AWS account would.
            urllib.request.urlopen(urllib.request.Request(f"{aws_endpoint}/moto-api/reset", method="POST"), timeout=10).close()
            self._set_env({**BASE_ENVIRONMENT, "AWS_ENDPOINT_URL": aws_endpoint, "POWERTOOLS_LOG_LEVEL": self.log_level})
            clients.reset()
            self.resources = provision(self.topology, self.client)
            self._set_env(self.resources.environment(self.topology))
            settings.reset()
            self.invoker.preload(self.topology.functions)
            self.gateway = Gateway(
                self.topology, self.invoker, host=self.host, port=self.api_port, api_key=self.api_key, web_root=self.web_root,
                sign_in=self.storefront_session if ("secret", "session_keys") in self.resources.names else None,
                server_key=self.server_key, session_proves=self.session_proves,
            )
            self.dispatcher = Dispatcher(
                self.topology, self.resources, self.invoker, self.client("sqs"),
                poll_wait_s=self.poll_wait_s, retry_delay_s=self.retry_delay_s,
            )
            self.scheduler = Scheduler(self.topology, self.invoker)
            # The CloudWatch DLQ alarms of the AWS stack, as log lines (and alarms.json for `persona status`).
            self.alarms = DeadLetterAlarms(
                self.resources.dlq_urls, self.client("sqs"), interval_s=self.alarm_interval_s, state_dir=self.state_dir
            )
            self.gateway.start()
            self._set_env({"PERSONA_SITE_URL": f"http://{self.host}:{self.gateway.port}"})
            settings.reset()
            self.dispatcher.start()
            self.scheduler.start()
            self.alarms.start()
        except BaseException:
            self.stop()
            raise
        names = self.resources.names
        self.endpoints = Endpoints(
            api_url=f"http://{self.host}:{self.gateway.port}",
            aws_endpoint_url=aws_endpoint,
            region=REGION,
            admin_api_key=self.api_key,
            server_key=self.server_key,
            drop_bucket=names.get(("bucket", "crm_drop"), ""),
            tables={i: n for (k, i), n in names.items() if k == "table"},
            buckets={i: n for (k, i), n in names.items() if k == "bucket"},
            queues=dict(self.resources.queue_urls),
            dead_letter_queues=dict(self.resources.dlq_urls),
            event_bus=self.topology.bus,
        )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: a client polling for the file never reads it half-written.
        partial = self.state_dir / f".{STATE_FILE}.partial"
        partial.write_text(json.dumps(asdict(self.endpoints), indent=2) + "\n")
        partial.replace(self.state_dir / STATE_FILE)
        return self.endpoints

    def stop(self) -> None:
        if self in LocalRuntime._live:
            LocalRuntime._live.remove(self)
        for part in (self.gateway, self.scheduler, self.dispatcher, self.alarms):
            if part is not None:
                part.stop()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)
        self._restore_env()
        clients.reset()
        settings.reset()

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers
    def storefront_session(self, customer_id: str) -> str:
        """What the retailer's sign-in gives a signed-in customer (the demo shop has no passwords)."""
        from shared import sessions

        return sessions.issue(self._session_signing_key(), customer_id, datetime.now(UTC))

    def session_proves(self, customer_id: str, session: str) -> bool:
        """Whether `session` is a live session of the customer, as the retailer's order system checks it."""
        from shared import sessions

        return sessions.state(self._session_signing_key(), customer_id, session, datetime.now(UTC)) == "valid"

    def _session_signing_key(self) -> str:
        if self._session_key is None:  # read once: moto is busy while demo data imports
            secret = self.resources.names[("secret", "session_keys")]
            self._session_key = self.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]
        return self._session_key

    def client(self, service: str) -> Any:
        """A boto3 client for the runtime's moto server (for provisioning, tests and the CLI)."""
        return boto3.client(
            service, region_name=REGION, endpoint_url=self._aws_endpoint,
            aws_access_key_id="local", aws_secret_access_key="local",
        )

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()


def _ensure_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers themselves bind: connections of a stopped instance still in
        # TIME_WAIT must not keep a restart from the port for a minute.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(f"{host}:{port} is already in use") from exc


def read_state(state_dir: Path = REPO_ROOT / ".persona") -> Endpoints:
    path = Path(state_dir) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No running local runtime ({path} is missing): start one with `make up`.")
    return Endpoints(**json.loads(path.read_text()))
