"""service-api: one supervisor, many paste-deployed WSGI apps, each on its own port."""

__version__ = "0.1.0"
