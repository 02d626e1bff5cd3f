"""Logging set-up. Log lines at INFO and above carry counts and ids of records, never a child's
name, date of birth, UPN or person key: those stay in DEBUG at most.

``NoData`` is the safety net under that rule, installed on every handler: at INFO and above
an exception is logged as its type and traceback frames only (an exception's text can quote
its input — pydantic's ``input_value``, a JSON decoder's excerpt), and an exception or bytes
passed as a log argument become their type or size.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any


class NoData(logging.Filter):
    """Keeps message contents out of records at INFO and above (see the module's text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = without_text(record.exc_info[1])
            record.exc_info = None
        if isinstance(record.args, tuple):
            record.args = tuple(_scrub(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _scrub(v) for k, v in record.args.items()}
        if isinstance(record.msg, BaseException | bytes | bytearray | memoryview):
            record.msg = _scrub(record.msg)
        return True


def _scrub(arg: Any) -> Any:
    if isinstance(arg, BaseException):
        return f"<{type(arg).__name__}>"
    if isinstance(arg, bytes | bytearray | memoryview):
        return f"<{len(arg)} bytes>"
    return arg


def without_text(exc: BaseException) -> str:
    """An exception's chain as types and frames (file, line, function), never its text."""
    lines = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        lines.append(f"{type(current).__module__}.{type(current).__qualname__} (text withheld)")
        lines += [f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames]
        current = current.__cause__ or current.__context__
    return "\n".join(lines)


def install_no_data(logger: logging.Logger | None = None) -> None:
    """Put ``NoData`` on every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, NoData) for f in handler.filters):
            handler.addFilter(NoData())


def configure(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_no_data()
    for noisy in ("kafka", "aiokafka", "faust", "mode", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
