"""cfg.CONF in a worker: the app's, parsed from the daemon's config files when a launcher would.

oslo.config's global cfg.CONF belongs to the app a worker serves, never to
service-api (whose options live in a ConfigOpts of its own): apps and
their middleware register what they like in it, oslo.service's options
included. Two kinds of apps share it:

- Paste apps and middleware read their options from the daemon's files
  (`[oslo_middleware]`, `[keystone_authtoken]` in svc.conf). They may
  register options, command-line ones too, when their modules are
  imported; oslo.config refuses command-line options once a command line
  is parsed. So a worker imports the app's modules first, then parses
  cfg.CONF (no command line, the daemon's files), then runs the factories.
- A service with a launcher of its own (nova, glance, cinder: their
  `module:application` entries for uWSGI) registers its options and parses
  its own files itself. service.wsgi_module hands it cfg.CONF unparsed, as
  uWSGI does, and parses the daemon's files afterwards only if the service
  did not.

Worker side: imported after the fork (and by --check-config's builders).
"""

from oslo_config import cfg

PROJECT = "service-api"

# The daemon's config files, in reading order, once parse() was called.
_daemon_files = ()


def parse(config_files):
    """Parse the daemon's config files into cfg.CONF, unless the app already parsed it."""
    global _daemon_files
    _daemon_files = tuple(config_files)
    if not is_parsed():
        _parse()


def _parse():
    cfg.CONF(args=[], project=PROJECT, default_config_files=list(_daemon_files),
             default_config_dirs=[])


def is_parsed():
    # __call__ registers config_file and clear() removes it again.
    return "config_file" in cfg.CONF


def hand_over():
    """Leave cfg.CONF unparsed for a service that registers its options and parses it itself."""
    cfg.CONF.clear()


def take_back():
    """Parse the daemon's files into cfg.CONF again, if the service left it unparsed."""
    if _daemon_files and not is_parsed():
        _parse()
