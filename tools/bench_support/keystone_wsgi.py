"""keystone's WSGI entry for gunicorn: keystone.wsgi.api with the program name as the only argument.

keystone parses sys.argv with oslo.config when its module is imported;
under gunicorn that is gunicorn's own command line, which keystone rejects.
uWSGI gives a service's module its program name and pyargv; this gives the
same, with the config file named in OS_KEYSTONE_CONFIG_DIR as for uWSGI.
"""

import sys

sys.argv[1:] = []

from keystone.wsgi.api import application  # noqa: E402,F401
