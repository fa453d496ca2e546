"""``.. cli-options::``: every option service-api's command line accepts, from the code.

The options of the config files come from oslo_config.sphinxext
(``.. show-options::``), through the namespace oslo-config-generator uses.
That namespace leaves out the options of the command line alone
(``--check-config``, see service/conf/cli.py), and oslo.config adds
``--config-file`` and ``--config-dir`` only when it parses. This directive
registers every option as the daemon does, lets oslo.config add its own,
and writes one ``.. option::`` per command-line option, with its help.
"""

from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from docutils import nodes
from oslo_config import cfg

from service import conf as service_conf


def command_line_opts():
    """[Opt] of every command-line option, sorted by name, as `service-api` registers them."""
    conf = cfg.ConfigOpts()
    service_conf.register_every_opt(conf)
    # No files: what is wanted is the options oslo.config adds when it parses.
    conf(args=[], project="service-api", default_config_files=[],
         default_config_dirs=[])
    # NOTE: private, and the only list of what register_cli_opt() and the
    # parse added; if it changes, the guide's build fails here, by name.
    return sorted((opt for opt, _ in conf._all_cli_opts()), key=lambda opt: opt.dest)


def option_signature(opt):
    """'--log-file PATH, --logfile PATH' for `.. option::`."""
    names = [opt.name] + [d.name for d in opt.deprecated_opts
                          if d.name and d.group in (None, "DEFAULT")]
    if opt.short:
        names.append(opt.short)
    if isinstance(opt, cfg.BoolOpt):
        return ", ".join(_dashes(name) for name in names + [f"no{opt.name}"])
    metavar = opt.metavar or opt.dest.upper()
    return ", ".join(f"{_dashes(name)} {metavar}" for name in names)


def _dashes(name):
    return f"-{name}" if len(name) == 1 else f"--{name}"


class CliOptions(Directive):
    has_content = False

    def run(self):
        lines = []
        for opt in command_line_opts():
            lines += [f".. option:: {option_signature(opt)}", ""]
            # What --help prints: argparse fills in %(default)s and unescapes %%.
            help_text = (opt.help or "").replace("%(default)s", str(opt.default))
            help_text = help_text.replace("%%", "%")
            lines += ["   " + line for line in help_text.splitlines()] + [""]
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(StringList(lines, source="service-api"), 0, node)
        return node.children


def setup(app):
    app.add_directive("cli-options", CliOptions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
