"""oslo.service peer, started as an OpenStack API service starts its WSGI server.

Usage: oslo_launcher.py CONFIG_FILE APP_NAME WORKERS PORT_FILE MAX_SECONDS

The paste app named APP_NAME is loaded from api_paste_config by
oslo_service.wsgi.Loader, served by oslo_service.wsgi.Server (its defaults),
and forked WORKERS times by ProcessLauncher. SIGALRM after MAX_SECONDS makes
ProcessLauncher exit at once; its workers follow when their pipe closes.
"""

import warnings

warnings.simplefilter("ignore")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402
from oslo_service import service  # noqa: E402
from oslo_service import wsgi  # noqa: E402


def main():
    config_file, name, workers, port_file, max_seconds = sys.argv[1:]
    conf = cfg.CONF
    logging.register_options(conf)
    wsgi.register_opts(conf)
    conf(["--config-file", config_file], project="bench-oslo")
    logging.setup(conf, "bench-oslo")
    app = wsgi.Loader(conf).load_app(name)
    server = wsgi.Server(conf, name, app, host="127.0.0.1", port=0)
    launcher = service.ProcessLauncher(conf, restart_method="mutate")
    launcher.launch_service(server, workers=int(workers))
    signal.alarm(int(max_seconds))
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.port))
    os.rename(port_file + ".tmp", port_file)
    launcher.wait()


if __name__ == "__main__":
    main()
