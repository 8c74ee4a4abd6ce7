"""CSV cells that a spreadsheet shows as text instead of running them.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some spreadsheets skip before looking) is read as a formula by Excel,
LibreOffice and Google Sheets: ``=HYPERLINK(...)`` or ``@SUM(1+1)*cmd|...`` in an
SPD text field would run on the operator's machine. Such a text cell gets a leading
apostrophe (OWASP "CSV injection"), which the spreadsheet hides; numbers we write
ourselves (coordinates, ids) are numbers, not text, and stay as they are. Every CSV
the site writes goes through `safe_cell` (or `sql_safe_text` when PostgreSQL writes
the rows).
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value to write: text starting like a formula is prefixed with '."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [safe_cell(v) for v in values]


def sql_safe_text(expression: str) -> str:
    """The same rule as SQL over a text ``expression`` (for COPY ... TO STDOUT)."""
    return (
        f"CASE WHEN left({expression}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') "
        f"THEN '''' || {expression} ELSE {expression} END"
    )
