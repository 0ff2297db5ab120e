"""API fuzzing: generated requests against `persona up`, from its own OpenAPI document.

Schemathesis turns every operation of the served document into Hypothesis
strategies (valid requests and schema-violating ones); on top of those, our own
strategies swap in injection strings, hostile unicode, wrong JSON types, ~1 MB
strings, raw bodies that are not JSON at all and, once per body operation, a body
over the gateway's 10 MB limit. Admin operations run with and without the key, the retailer's
backend's (`/v1/server/`) with and without the server key; public operations that take a
customer's session also get made-up `X-Persona-Session` headers.
The contract under test is the one DESIGN.md states: a 5xx is always a bug, and
every 4xx is JSON `{"error": {"code", "message", "details"}}`.

The run is derandomized so CI sees the same requests every time; for a longer
local hunt: PERSONA_FUZZ_EXAMPLES=500 PERSONA_FUZZ_SEED=$RANDOM .venv/bin/python -m pytest tests/reliability/test_api_fuzzing.py
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

from tests.e2e.test_persona_up import start_persona_up

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
# The committed document names the operations at collection time; the requests are
# generated from the document the running instance serves.
COMMITTED = json.loads((REPO_ROOT / "functions" / "platform" / "openapi.json").read_text())
BODY_METHODS = {"post", "put", "patch"}
GATEWAY_LIMIT = 10 * 1024 * 1024

# Examples per operation (with the key for admin ones): ~3,000 requests in under 2 minutes here.
EXAMPLES = int(os.environ.get("PERSONA_FUZZ_EXAMPLES", "75"))
# Without the key the gateway answers 403 before any handler runs: fewer are enough.
EXAMPLES_WITHOUT_KEY = max(5, EXAMPLES // 5)
SEED = os.environ.get("PERSONA_FUZZ_SEED")
MIN_REQUESTS = 2000


# The header each local credential goes in (the document's security schemes; IAM and Cognito stand-ins locally).
KEY_HEADERS = {"localApiKey": "x-api-key", "localServerKey": "x-persona-server-key"}
SESSION_SCHEME = "storefrontSession"


def key_header(operation: dict[str, Any]) -> str | None:
    """The header of the local key an operation needs; None for a public one (no security, or `{}` among its
    alternatives: a customer's session is optional, a visitor needs none)."""
    security = operation.get("security") or []
    if not security or {} in security:
        return None
    return next(KEY_HEADERS[name] for requirement in security for name in requirement if name in KEY_HEADERS)


def takes_session(operation: dict[str, Any]) -> bool:
    return any(SESSION_SCHEME in requirement for requirement in operation.get("security") or [])


def _operations() -> list[tuple[str, str, bool]]:
    """(method, path, with the key) for every operation of the document: those that need a key twice."""
    found = []
    for path, operations in COMMITTED["paths"].items():
        for method, operation in operations.items():
            found.append((method, path, True))
            if key_header(operation):
                found.append((method, path, False))
    return found


OPERATIONS = _operations()

# ------------------------------------------------------------------ hostile values

INJECTIONS = [
    "' OR '1'='1", "1; DROP TABLE profiles;--", "\" OR \"\"=\"", "admin'--",
    '{"$ne": null}', '{"$gt": ""}', "{'$where': 'sleep(1000)'}",
    "../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "..\\..\\windows\\win.ini", "/", "%00", "~",
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "javascript:alert(1)",
    "a\r\nSet-Cookie: evil=1", "x\r\n\r\nHTTP/1.1 200 OK",
    "attribute_not_exists(pk) OR pk <> :x", "#pk = :v", "pk = :pk AND begins_with(sk, :p)", ":v", "#", "SET #a = :b",
    "${jndi:ldap://127.0.0.1/a}", "{{7*7}}", "%s%s%s%n", "__proto__", "constructor", "null", "None", "NaN", "-0",
]
UNICODE = [
    "😀", "👩‍👩‍👧‍👦", "🏳️‍🌈", "مرحبا بالعالم", "\u202etxt.exe", "שָׁלוֹם", "Z̷̡̨͈̖a̸̢̛͎l̵̡̛g̷o̶",
    "\u0000", "a\u0000b",
    "\ufeff", "\u200b\u200c\u200d", "\uffff", "\U0010ffff", "ｆｕｌｌｗｉｄｔｈ", "İ", "ß", "\u00a0", "\t\n\r",
    "\ud800", "\udfff", "x\udc80y",  # lone surrogates: legal as \u escapes in JSON, not in UTF-8
]
HOSTILE_STRINGS = st.one_of(st.sampled_from(INJECTIONS + UNICODE), st.text(max_size=40))
# Printable ASCII without CR/LF or leading blanks: the client itself refuses other header values.
HEADER_STRINGS = st.one_of(
    st.sampled_from([i for i in INJECTIONS if "\r" not in i and "\n" not in i]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
).map(str.lstrip)
WRONG_TYPES = st.one_of(
    st.none(), st.booleans(), st.sampled_from([0, -1, 2**63, -(2**64), 10**40, 1e308, -1e-320, 0.1]),
    st.floats(allow_nan=True, allow_infinity=True),  # NaN / Infinity: Python's json writes (and reads) them
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    HOSTILE_STRINGS,
)
MEGABYTE = 1024 * 1024
BIG_STRINGS = st.sampled_from(["A", "é", "😀", "'; --", "\u202e"]).map(lambda s: (s * MEGABYTE)[: MEGABYTE // len(s.encode())])
RAW_BODIES = st.sampled_from([
    b"", b"{", b"[", b"null", b"[]", b"{}", b"0", b'"x"', b"{not json", b"\xff\xfe\x00", b"\xef\xbb\xbf{}",
    b'{"a": 1, "a": 2}', b"{} trailing", b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b"NaN", b"Infinity", b"1e999999", b"-" + b"9" * 5_000,
])
CONTENT_TYPES = st.sampled_from([
    "application/json", "application/json; charset=utf-8", "text/plain", "application/problem+json",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html", "",
])


def _leaves(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every node of a JSON value (the root too)."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _leaves(child, (*path, index))
    return found


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@dataclass(frozen=True)
class FuzzRequest:
    method: str
    path: str  # with its (encoded) path parameters
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    kind: str = "generated"

    def __repr__(self) -> str:  # what Hypothesis prints for a failing example: no megabytes
        query = tuple((k, _short(v)) for k, v in self.query)
        return (f"FuzzRequest({self.kind}: {self.method} {_short(self.path)} query={query!r} headers={self.headers!r} "
                f"body={_short(self.body)!r})")


def _short(value: Any) -> Any:
    if value is None or len(value) < 400:
        return value
    tail = f"...({len(value)} long)"
    return value[:200] + (tail.encode() if isinstance(value, bytes) else tail)


def _path(template: str, params: dict[str, Any]) -> str:
    path = template
    for name, value in params.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


def _encode(body: Any, ascii_only: bool) -> bytes:
    text = json.dumps(body, ensure_ascii=ascii_only)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate: JSON can carry it only as a \u escape
        return json.dumps(body).encode()


@st.composite
def fuzz_requests(draw, operation, with_key: bool, keys: dict[str, str]) -> FuzzRequest:
    mode = draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    case = draw(operation.as_strategy(mode))
    params = {k: v for k, v in (case.path_parameters or {}).items()}
    query = {k: v for k, v in (case.query or {}).items()}
    raw: bytes | None = None
    body: Any = None if case.body is NOT_SET else case.body
    if isinstance(body, (bytes, bytearray)):  # a negative case's body that is not JSON at all
        raw, body = bytes(body), None
    has_body = case.body is not NOT_SET and raw is None
    content_type = "application/json" if operation.method.lower() in BODY_METHODS else None
    kind = draw(st.sampled_from(["generated", "hostile", "wrong-type", "raw", "oversized", "hostile-query", "content-type"]))

    if kind == "hostile":  # an injection / unicode string in a body node, path parameter or query parameter
        targets = [("body", p) for p in _leaves(body)] if has_body else []
        targets += [("path", name) for name in params] + [("query", name) for name in query]
        if targets:
            where, which = draw(st.sampled_from(targets))
            value = draw(HOSTILE_STRINGS)
            if where == "body":
                body = _replace(body, which, value)
            elif where == "path":
                params[which] = value
            else:
                query[which] = value
    elif kind == "wrong-type" and has_body:
        body = _replace(body, draw(st.sampled_from(_leaves(body))), draw(WRONG_TYPES))
    elif kind == "raw" and content_type:
        raw = draw(RAW_BODIES)
    elif kind == "oversized":
        value = draw(BIG_STRINGS)
        if has_body:  # a 1 MB string in a body node
            body = _replace(body, draw(st.sampled_from(_leaves(body))), value)
            kind = "1mb-string"
        else:  # no body: a 100 KB query parameter instead (past the gateway's 64 KB request line)
            query[draw(st.sampled_from([*query, "q"]))] = value[:100_000]
            kind = "100kb-query"
    elif kind == "hostile-query":  # parameters the operation does not declare
        names = st.sampled_from(["q", "$where", "limit", "__proto__", "x"])
        query.update(draw(st.dictionaries(names, HOSTILE_STRINGS, min_size=1, max_size=3)))
    elif kind == "content-type" and content_type:
        content_type = draw(CONTENT_TYPES)

    # Path parameters in lone surrogates cannot even be written as a URL: use a stand-in.
    params = {k: (v.encode("utf-8", "replace").decode() if isinstance(v, str) else v) for k, v in params.items()}
    query_items = tuple((str(k), (v if isinstance(v, str) else json.dumps(v)).encode("utf-8", "replace").decode())
                        for k, v in query.items())
    headers = {"x-correlation-id": draw(st.one_of(st.just("fuzz"), HEADER_STRINGS))}
    if content_type:
        headers["content-type"] = content_type
    needed = key_header(COMMITTED["paths"][operation.path][operation.method.lower()])
    if needed and with_key:
        headers[needed] = keys[needed]
    elif needed and draw(st.booleans()):
        headers[needed] = draw(HEADER_STRINGS)  # a wrong key is no key
    if takes_session(COMMITTED["paths"][operation.path][operation.method.lower()]) and draw(st.booleans()):
        # A made-up session: malformed is a 401, well-formed but not this customer's is a visitor's request, never a 500.
        headers["x-persona-session"] = draw(st.one_of(
            HEADER_STRINGS, st.builds(lambda n, sig: f"{n}.{sig}", st.integers(0, 10**12),
                                      st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=43, max_size=43))))
    if raw is None and has_body:
        raw = _encode(body, draw(st.booleans()))
    return FuzzRequest(operation.method.upper(), _path(operation.path, params), query_items,
                       tuple(headers.items()), raw, kind)


# ------------------------------------------------------------------ the running instance

@dataclass
class Fuzzer:
    api_url: str
    keys: dict[str, str]  # header -> the instance's key
    schema: Any
    session: requests.Session = field(default_factory=requests.Session)
    statuses: Counter = field(default_factory=Counter)  # (operation, status) -> requests
    kinds: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def send(self, label: str, request: FuzzRequest) -> requests.Response:
        started = time.monotonic()
        response = self.session.request(
            request.method, self.api_url + request.path, params=list(request.query), headers=dict(request.headers),
            data=request.body, timeout=60,
        )
        self.seconds += time.monotonic() - started
        self.statuses[(label, response.status_code)] += 1
        self.kinds[request.kind] += 1
        return response


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory):
    for _, endpoints, _ in start_persona_up(tmp_path_factory, "--no-demo"):
        document = requests.get(endpoints["api_url"] + "/v1/openapi.json", timeout=30).json()
        served = {(m, p) for p, operations in document["paths"].items() for m in operations}
        assert served == {(m, p) for m, p, _ in OPERATIONS}, "the served document has other operations: persona openapi"
        keys = {"x-api-key": endpoints["admin_api_key"], "x-persona-server-key": endpoints["server_key"]}
        yield Fuzzer(endpoints["api_url"], keys, schemathesis.openapi.from_dict(document))


def _not_json(constant: str) -> Any:
    raise AssertionError(f"{constant} in a JSON answer: JSON has no such number")


def check_response(request: FuzzRequest, response: requests.Response) -> None:
    """No 5xx; every 4xx a JSON error of the API's one shape."""
    where = f"{request!r} -> {response.status_code} {response.text[:500]!r}"
    assert response.status_code < 500, where
    if response.headers.get("content-type", "").startswith("application/json"):
        body = json.loads(response.content, parse_constant=_not_json)  # no NaN / Infinity in any answer
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), where
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, where
        assert isinstance(body["error"]["code"], str) and body["error"]["code"], where
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], where


def _oversized(method: str, path: str, headers: dict[str, str]) -> FuzzRequest:
    # A valid JSON string past the gateway's limit (no path parameter: a fixed stand-in).
    body = b'"' + b"A" * (GATEWAY_LIMIT + 1) + b'"'
    return FuzzRequest(method.upper(), path.replace("{", "x").replace("}", ""), (), tuple(headers.items()), body, "over-10mb")


@pytest.mark.parametrize(("method", "path", "with_key"), OPERATIONS,
                         ids=[f"{m.upper()} {p}{'' if k else ' (no key)'}" for m, p, k in OPERATIONS])
def test_fuzz_operation(fuzzer: Fuzzer, method: str, path: str, with_key: bool) -> None:
    operation = fuzzer.schema[path][method]
    label = f"{method.upper()} {path}" + ("" if with_key else " (no key)")
    needed = key_header(COMMITTED["paths"][path][method])
    headers = {"content-type": "application/json", **({needed: fuzzer.keys[needed]} if needed and with_key else {})}

    def run(request: FuzzRequest) -> None:
        response = fuzzer.send(label, request)
        check_response(request, response)
        if not with_key:  # the gateway turns it away before any handler runs (after its size limits and routing)
            gateway_codes = {"forbidden", "payload_too_large", "request_uri_too_long", "route_not_found"}
            assert response.json()["error"]["code"] in gateway_codes, f"{request!r} -> {response.text[:300]} without the key"

    if method in BODY_METHODS:
        run = example(_oversized(method, path, headers))(run)
    run = given(fuzz_requests(operation, with_key, fuzzer.keys))(run)
    run = settings(
        max_examples=EXAMPLES if with_key else EXAMPLES_WITHOUT_KEY,
        derandomize=SEED is None, database=None, deadline=None, print_blob=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
    )(run)
    if SEED is not None:
        run = seed(int(SEED))(run)
    run()


def test_fuzzing_summary(fuzzer: Fuzzer, capsys: pytest.CaptureFixture) -> None:
    """Every operation was fuzzed, 2,000 requests or more in all; prints the tallies."""
    labels = {label for label, _ in fuzzer.statuses}
    if len(labels) < len(OPERATIONS):
        pytest.skip("only some operations were selected")
    total = sum(fuzzer.statuses.values())
    by_status = Counter()
    per_operation = Counter()
    for (label, status), count in fuzzer.statuses.items():
        by_status[status] += count
        per_operation[label] += count
    lines = [f"API fuzzing: {total} requests over {len(labels)} operations in {fuzzer.seconds:.0f} s of requests",
             "  statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())),
             "  kinds: " + ", ".join(f"{k}: {n}" for k, n in sorted(fuzzer.kinds.items()))]
    lines += [f"  {n:5d}  {label}" for label, n in sorted(per_operation.items())]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert not [s for s in by_status if s >= 500]
    assert total >= MIN_REQUESTS


# ------------------------------------------------------------------ the local order system (not in the document)

LOCAL_ORDERS = "/local/orders"
GOOD_ORDER = {"anonymous_id": "anon-fuzz-order-6b1f0c3e9a2d4785b1c0e6f2a9d3c471", "customer_id": "C-FUZZ", "order_id": "o-fuzz",
              "lines": [{"item_id": "sku-1", "category": "tents", "brand": "Stride", "value": 12.5, "currency": "EUR"}]}


@st.composite
def local_orders(draw) -> tuple[bytes, dict[str, str]]:
    """Bodies for POST /local/orders (the local runtime's stand-in for the retailer's order system): raw bytes, the
    good order with one node replaced by a wrong type or a hostile string, or any JSON; now and then a made-up session."""
    kind = draw(st.sampled_from(["raw", "wrong-type", "hostile", "json"]))
    if kind == "raw":
        body = draw(RAW_BODIES)
    elif kind == "json":
        body = _encode(draw(st.recursive(st.none() | st.booleans() | st.floats() | HOSTILE_STRINGS,
                                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                                         max_leaves=10)), True)
    else:
        value = draw(WRONG_TYPES if kind == "wrong-type" else HOSTILE_STRINGS)
        body = _encode(_replace(GOOD_ORDER, draw(st.sampled_from(_leaves(GOOD_ORDER))), value), draw(st.booleans()))
    headers = {"content-type": draw(CONTENT_TYPES)}
    if draw(st.booleans()):
        headers["x-persona-session"] = draw(HEADER_STRINGS)
    return body, headers


def test_fuzz_the_local_order_system(fuzzer: Fuzzer) -> None:
    """Strict validation: a bad order is a 400 (a malformed session a 401) in the API's error shape, never a 5xx."""

    @given(local_orders())
    @settings(max_examples=EXAMPLES * 2, derandomize=SEED is None, database=None, deadline=None, print_blob=True,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @example((json.dumps(GOOD_ORDER).encode(), {"content-type": "application/json"}))
    def run(case: tuple[bytes, dict[str, str]]) -> None:
        body, headers = case
        response = fuzzer.session.post(fuzzer.api_url + LOCAL_ORDERS, data=body, headers=headers, timeout=60)
        request = FuzzRequest("POST", LOCAL_ORDERS, (), tuple(headers.items()), body, "local-order")
        check_response(request, response)
        assert response.status_code in (202, 400, 401, 413), f"{request!r} -> {response.status_code} {response.text[:300]}"

    if SEED is not None:
        run = seed(int(SEED))(run)
    run()
