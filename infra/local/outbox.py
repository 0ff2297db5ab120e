"""`persona outbox`: the messages the running instance has sent (verification links).

Read through the admin API, as the dashboard does, so it shows exactly what a
mail service would deliver in AWS.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from infra.local.runtime import Endpoints


def messages(endpoints: Endpoints) -> list[dict[str, Any]]:
    request = urllib.request.Request(f"{endpoints.api_url}/v1/privacy-outbox", headers={"x-api-key": endpoints.admin_api_key})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def render(found: list[dict[str, Any]]) -> str:
    if not found:
        return "The outbox is empty: no privacy request has been submitted yet."
    blocks = [
        f"{m['created_at']}  to {m['to']}  (request {m['request_id']})\n  {m['subject']}\n  {m['link']}"
        for m in found
    ]
    return "\n\n".join(blocks)
