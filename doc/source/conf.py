"""Sphinx configuration of service-api's guide.

From the top of the repository, in the virtualenv of the test command:

    python -m sphinx -W -b html doc/source doc/build/html    # open doc/build/html/index.html
    python -m sphinx -W -b man doc/source doc/build/man      # man -l doc/build/man/service-api.1
"""

import os
import sys

SOURCE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(SOURCE))
# The options and the version come from this checkout's code.
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(SOURCE, "_ext"))

import service  # noqa: E402

project = "service-api"
author = "service-api contributors"
copyright = "service-api contributors"
version = release = service.__version__

extensions = [
    # .. show-options::, from the namespaces oslo-config-generator uses.
    "oslo_config.sphinxext",
    # .. cli-options::, the command line's options.
    "cli_options",
]

# Pieces that several pages include (the man page and the operator guide
# share the tables of signals and exit statuses).
exclude_patterns = ["_includes"]
templates_path = []
html_static_path = ["_static"]
html_title = f"service-api {release}"
html_theme_options = {"description": "One daemon, many paste-deployed WSGI apps"}
# The literal blocks are commands, config files and logs, not Python.
highlight_language = "none"

man_pages = [
    ("reference/man/service-api", "service-api",
     "serve several paste-deployed WSGI applications, each on its own port",
     [author], 1),
]
man_show_urls = True
