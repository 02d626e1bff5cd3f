"""The DfE SEN2 XML schemas (2025, 2026), corrected where the transcription differs from the DfE.

The schemas are Social Finance's MIT-licensed transcription of DfE's specification (shipped
unchanged in ``services/ingest/sen2/xsd/``; ``NOTICE.md`` there lists every difference).  They
are corrected in memory when loaded, and nowhere else:

1. ``exportedandleatype`` (``LEA``, ``TransferLA``, ``Exported``) enumerates only the London
   boroughs and ``XXX``, the publisher's own region.  Nationally any 3-digit LA code is valid
   (Trafford 358, Salford 355): the enumeration becomes the pattern ``\\d{3}|XXX``.
2. ``uniquelearnernumbertype`` is 8 digits.  The DfE's Unique Learner Number is the Learning
   Records Service's: 10 digits, the first not 0, the last a check digit (checked in
   ``services/ingest/identifiers.py``): the pattern becomes ``[1-9]\\d{9}``.
3. ``urntype`` allows 1 to 6 digits.  A URN (Get Information about Schools) is 6 digits: the
   pattern becomes ``\\d{6}``.
4. The URN, UKPRN and ULN patterns are written ``^...$``.  XML Schema patterns are anchored
   already and ``^``/``$`` are literal characters in them, so ``123456`` fails and only
   ``^123456$`` passes.  The ``^`` and ``$`` are dropped.

Schema errors become issues with the element's path and line (``fields`` decides which reject
and which warn).  libxml2 quotes the offending value in its messages; a SEN2 return is a
person file, so values are removed from them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

from lxml import etree

XSD_DIR = Path(__file__).parent / "xsd"
YEARS = (2025, 2026)
LA_PATTERN = r"\d{3}|XXX"
PATTERNS = {"uniquelearnernumbertype": r"[1-9]\d{9}", "urntype": r"\d{6}"}
_XS = "{http://www.w3.org/2001/XMLSchema}"


def parser() -> etree.XMLParser:
    """No entities, no network, no DTDs: a return is data, never instructions to the parser."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )


def patched_schema_document(year: int) -> etree._ElementTree:
    """The published XSD of ``year`` with the corrections above applied."""
    if year not in YEARS:
        raise ValueError(f"no SEN2 schema for {year}: known years are {YEARS}")
    tree = etree.parse(str(XSD_DIR / f"sen2_schema_{year}.xsd"), parser())
    for simple in tree.iter(f"{_XS}simpleType"):
        if simple.get("name") == "exportedandleatype":
            restriction = simple.find(f"{_XS}restriction")
            assert restriction is not None
            for facet in restriction.findall(f"{_XS}enumeration"):
                restriction.remove(facet)
            etree.SubElement(restriction, f"{_XS}pattern", value=LA_PATTERN)
    for simple in tree.iter(f"{_XS}simpleType"):
        pattern = PATTERNS.get(simple.get("name", ""))
        facet = simple.find(f"{_XS}restriction/{_XS}pattern")
        if pattern is not None and facet is not None:
            facet.set("value", pattern)
    for facet in tree.iter(f"{_XS}pattern"):
        value = facet.get("value", "")
        if value.startswith("^") and value.endswith("$"):
            facet.set("value", value[1:-1])
    return tree


@functools.cache
def schema(year: int) -> etree.XMLSchema:
    return etree.XMLSchema(patched_schema_document(year))


@functools.cache
def published_schema(year: int) -> etree.XMLSchema:
    """The XSD exactly as published (for tests that show what the patch changes)."""
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"sen2_schema_{year}.xsd"), parser()))


def year_of(document: etree._ElementTree) -> int:
    """The schema year a return declares (``Header/CollectionDetails/Year``), else the latest."""
    text = document.findtext("Header/CollectionDetails/Year") or ""
    return 2025 if text.strip() == "2025" else max(YEARS)


# libxml2 quotes values: "The value '358' is not ...", "'2015-13-01' is not a valid value".
_VALUE = re.compile(r"The value '[^']*'")
_LEADING_VALUE = re.compile(r"(Element '[^']+'): '[^']*' is not")
_SET = re.compile(r"the set \{[^}]*\}")


def redact(message: str) -> str:
    """A schema message without the offending value (and without long enumerations)."""
    message = _VALUE.sub("The value", message)
    message = _LEADING_VALUE.sub(r"\1: the value is not", message)
    return _SET.sub("the codes the schema lists", message).strip()


def schema_errors(document: etree._ElementTree, year: int) -> Iterator[tuple[int | None, str, str]]:
    """(line, element path, message) of every schema error in ``document``."""
    checker = schema(year)
    if checker.validate(document):
        return
    for error in cast(Iterable[Any], checker.error_log):  # lxml-stubs leave it opaque
        yield error.line or None, error.path or "", redact(error.message)
