"""A WSGI module for the servers that import an `application` (uWSGI, Granian).

OpenStack services run under uWSGI through such a module: it calls
paste.deploy.loadapp on the service's paste ini. Which ini and which app
come from the environment the bench gives the server (BENCH_PASTE_INI,
BENCH_APP), so one module serves every scenario.
"""

import os

from paste.deploy import loadapp

application = loadapp("config:" + os.environ["BENCH_PASTE_INI"],
                      name=os.environ["BENCH_APP"])
