"""Options of the command line alone: they say what to do this time, not how to serve.

They are not in list_opts(): a sample config file that offered them would
invite `check_config = true` into a file, and a daemon that then checked and
exited instead of serving. Left out of the sample, oslo-config-validator
flags them if they turn up in a file.
"""

from oslo_config import cfg

OPTS = [
    cfg.BoolOpt(
        "check-config",
        default=False,
        help="Check the configuration and exit instead of serving: parse "
             "the config files and the paste ini, build every app in a "
             "throwaway process, bind and close every address, print what "
             "would be served. Exit status 0 if a start would succeed, "
             "otherwise 1 with the error a start would report."),
    cfg.FloatOpt(
        "check-config-timeout",
        default=60.0,
        min=0.1,
        metavar="SECONDS",
        help="With --check-config: seconds every app gets to build. An app "
             "still building then (a factory waiting for a database it "
             "cannot reach, say) fails the check, named."),
]


def register_opts(conf):
    conf.register_cli_opts(OPTS)
