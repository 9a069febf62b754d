"""Logging filters of the console: what a person watching `make run` needs, once."""

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """A 4xx answer (a refused permission, a missing page) is the client's mistake, not
    the server's: one line says so; the traceback of the exception the view raised on
    purpose is noise. 5xx records keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
