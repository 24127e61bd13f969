"""Log records as JSON lines, one object per line (docs/operations.md, "Log format").

Only the record's own fields are written: time, level, logger, message, request id, the
process and, for an exception, its type and traceback. Extra attributes code attaches to a
record are left out on purpose, so that nothing a caller passes along by accident (a form,
a request) reaches the log.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import json
import logging


class JsonFormatter(logging.Formatter):
    """`{"time": ..., "level": ..., "logger": ..., "message": ..., "request_id": ...}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
