"""Which config files a parse read, in the order it read them, and what each one holds.

Workers parse the same files into the apps' cfg.CONF (service.global_conf)
without the daemon's command line, so they need them as a list. oslo.config
reads its default files when no --config-file is given and its default
directories when no --config-dir is, then each --config-file and
--config-dir in command-line order (a directory's *.conf files sorted); this
module follows the same rules.
"""

import argparse
import glob
import os

from oslo_config import cfg


def files_read(conf, argv):
    """The files `conf`, parsed from `argv`, read: absolute paths in reading order."""
    given = _given(argv)
    kinds = {kind for kind, _ in given}
    files = [] if "file" in kinds else list(conf.default_config_files)
    if "dir" not in kinds:
        files += [path for directory in conf.default_config_dirs
                  for path in _dir_files(directory)]
    for kind, path in given:
        files += [path] if kind == "file" else _dir_files(path)
    return tuple(_absolute(path) for path in files)


def _given(argv):
    """[("file" or "dir", path)] of --config-file and --config-dir, in command-line order."""
    parser = argparse.ArgumentParser(add_help=False)
    given = []

    class Record(argparse.Action):
        def __call__(self, parser, namespace, value, option_string=None):
            given.append((self.const, value))

    parser.add_argument("--config-file", action=Record, const="file")
    parser.add_argument("--config-dir", action=Record, const="dir")
    parser.parse_known_args(list(argv))
    return given


def _dir_files(directory):
    return sorted(glob.glob(os.path.join(_absolute(directory), "*.conf")))


def _absolute(path):
    return os.path.abspath(os.path.expanduser(path))


def sections(files):
    """{section: {key: [values]}} of `files` together, as oslo.config reads them."""
    merged = {}
    for path in files:
        read = {}
        cfg.ConfigParser(path, read).parse()
        for section, keys in read.items():
            merged.setdefault(section, {}).update(keys)
    return merged
