"""The fields of an access line, and what a wsgi_log_format does with them.

Pure, and shared: the supervisor checks an operator's format with it before
any worker writes a line in it (service.accesslog.lines).
"""

# Stand-ins for the fields, to find out which ones a format shows.
_SAMPLE_FIELDS = {
    "client_ip": "192.0.2.1",
    "client_port": 40000,
    "date_time": "\x00date\x00",
    "request_line": "GET / HTTP/1.1",
    "status_code": 200,
    "body_length": 14,
    "wall_seconds": 0.001,
}


def format_error(log_format):
    """Why lines cannot be made in `log_format` (an unknown field, say), or None."""
    try:
        log_format % _SAMPLE_FIELDS
    except (KeyError, ValueError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def shows_field(log_format, name):
    """Whether lines in `log_format` change with the field `name` (errors: assume they do)."""
    without = dict(_SAMPLE_FIELDS)
    del without[name]
    try:
        return log_format % _SAMPLE_FIELDS != log_format % without
    except Exception:
        return True
