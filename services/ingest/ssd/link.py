"""How SSD rows reach the rows they link to: what a parent row hands down to its children."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from services.ingest.csvtable import RowCheck, TableSpec, lines_text


class Link(NamedTuple):
    """What a row hands down to the rows that link to it (a tuple: one is made per row)."""

    person_key: str
    request_id: str | None = None
    received_on: date | None = None
    plan_id: str | None = None
    issued_on: date | None = None
    ceased: bool = False
    has_upn: bool = False  # the person row gave a UPN or a UPN-unknown reason


class Parent(NamedTuple):
    """A row as seen by the rows that link to it; ``link`` is ``None`` if it was rejected."""

    lines: tuple[int, ...]
    link: Link | None
    request_id: str = ""  # the request it belongs to, as written, even when rejected


Index = dict[str, Parent]


def put(index: Index, key: str, check: RowCheck, link: Link | None, request_id: str = "") -> None:
    if not key:
        return
    if key in index:  # a duplicate: every copy was rejected
        index[key] = Parent((*index[key].lines, check.row.line), None, request_id)
    else:
        index[key] = Parent((check.row.line,), link if check.ok else None, request_id)


def link_to(check: RowCheck, column: str, parents: Index, parent: TableSpec) -> Link | None:
    """The accepted parent row ``column`` names: required, known and not rejected."""
    value = check.required(column)
    if not value:
        return None
    found = parents.get(value)
    if found is None:
        named = f"{parent.key} {check.quoted(column, value)}".rstrip()
        check.add(column, "R-DATA-LINK", f"no {parent.file} row has this {named}")
        return None
    if found.link is None:
        named = f"{parent.key} {check.quoted(column, value)}".rstrip()
        lines = lines_text(found.lines)
        message = f"{parent.file} {lines} ({named}) was rejected, so this row is too"
        check.add(column, "R-DATA-LINK", message)
    return found.link


def plans_by_request(plans: Index) -> dict[str, list[Parent]]:
    grouped: dict[str, list[Parent]] = {}
    for plan in plans.values():
        if plan.request_id:
            grouped.setdefault(plan.request_id, []).append(plan)
    return grouped
