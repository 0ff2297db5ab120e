"""CSV cells that a spreadsheet shows as text, never runs (pure).

Exports carry text that arrived from outside (search terms, CRM fields): a cell starting with
`= + - @`, a tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets
(CSV injection). OWASP's remedy: prefix such a cell with a single quote, which spreadsheets
show as text. Numbers stay numbers.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
