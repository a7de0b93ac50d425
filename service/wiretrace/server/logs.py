"""Structured logs: one JSON object per line on stderr."""

from __future__ import annotations

import json
import logging
import sys
import time

__all__ = ["LOGGERS", "JsonFormatter", "setup_logging"]

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": round(time.time(), 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


#: Loggers that get the JSON handler: ours, and gRPC's own (its errors in a handler it
#: calls, e.g. a serializer, would otherwise go nowhere).
LOGGERS = ("wiretrace", "grpc")


def setup_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for ``LOGGERS``; exceptions carry their traceback (``exc``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level if name == "wiretrace" else max(logging.WARNING, _level(level)))
        logger.propagate = False


def _level(name: str) -> int:
    return logging.getLevelNamesMapping()[name.upper()]
