"""Pure pieces of the profiles context's part in privacy requests."""

from __future__ import annotations

import json
import re

from pydantic import ValidationError

from functions.profiles.crm_import.rows import models

_FIELD_SEPARATORS = re.compile(r'[,;|"{}:\[\]\s]+')


def field_values(raw: str) -> set[str]:
    """The field values of a raw export line, whatever its delimiter or quoting (lower-cased)."""
    return {f.strip().lower() for f in _FIELD_SEPARATORS.split(raw) if f.strip()}


def without_identifiers(quarantine_lines: list[bytes], identifiers: set[str]) -> list[bytes]:
    """Quarantine lines (`{"row", "raw", "reasons"}`) whose raw row has none of the identifiers
    as a whole field (so C-10011 is not taken for C-1001)."""
    wanted = {i.strip().lower() for i in identifiers if i}
    return [line for line in quarantine_lines if not wanted & field_values(json.loads(line)["raw"])]


def valid_corrections(corrections: dict[str, str]) -> tuple[dict[str, object], list[str]]:
    """(corrections that pass the rules imported customer rows pass, normalised; names of the rejected ones)."""
    model = models()["customers"]
    valid: dict[str, object] = {}
    rejected = []
    for name, value in corrections.items():
        try:
            row = model.model_validate({"customer_id": "x", name: value})
        except ValidationError:
            rejected.append(name)
            continue
        valid.update(row.model_dump(mode="json", include={name}, exclude_none=True))
    return valid, rejected
