"""Errors an operator reads: each message is one line naming the app, option or file, and the cause."""


class ConfigError(Exception):
    """The configuration cannot be served: at start we exit 1, on reload we keep the old one."""
