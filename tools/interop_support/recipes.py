"""A recipe's commands, read from etc/recipes/<service>/setup.sh, and how a run moves them.

setup.sh is what the guide shows an operator (doc/source/services/<service>.rst
includes it) and what tools/interop runs, so a recipe that drifts fails the
run. It is a POSIX shell script in sections, each opened by a line
"# -- NAME": install (a virtualenv in /opt/<service>), configure (directories
and files), prepare (database sync, bootstrap), start (--check-config, then
the daemon). Commands run from the top of a service-api clone.

A run changes only paths and ports (Relocation): /opt/<service> becomes the
run's virtualenv, /etc/... and /var/lib/... move under the run's root, the
recipe's own files (etc/recipes/<service>/...) are read from a copy with the
same changes made in them, and every port of the recipe becomes a free one.
Nothing here runs anything.
"""

import configparser
import dataclasses
import os
import re
import shlex

SECTIONS = ("install", "configure", "prepare", "start")
SCRIPT = "setup.sh"
# memcached's port in swift's proxy-server.conf.
MEMCACHED_PORT = 11211

_SECTION_LINE = re.compile(r"^# -- (\w+)\s*$")
_REQUIREMENT = re.compile(r"^[A-Za-z0-9_.-]+==[A-Za-z0-9_.-]+$")
_PORT_OPTION = re.compile(r"^port\s*=\s*(\d+)\s*$", re.MULTILINE)


class RecipeError(Exception):
    """setup.sh is not in the shape this module reads; the message says where."""


@dataclasses.dataclass
class Recipe:
    service: str
    directory: str          # etc/recipes/<service>, absolute
    sections: dict          # section name -> [command], continuation lines joined

    @property
    def venv(self):
        """The virtualenv the recipe installs into."""
        return f"/opt/{self.service}"

    @property
    def requirement(self):
        """The service's 'name==version' that the recipe's pip installs from PyPI."""
        for command in self.sections["install"]:
            words = shlex.split(command)
            if words[:2] == [f"{self.venv}/bin/pip", "install"]:
                pinned = [word for word in words[2:] if _REQUIREMENT.match(word)]
                if pinned:
                    return pinned[0]
        raise RecipeError(f"{self.script}: no '{self.venv}/bin/pip install NAME==VERSION'")

    @property
    def checks(self):
        """The start section's --check-config commands."""
        return [c for c in self.sections["start"] if "--check-config" in shlex.split(c)]

    @property
    def daemon(self):
        """The start section's command that serves: its last, without --check-config."""
        serving = [c for c in self.sections["start"] if c not in self.checks]
        if len(serving) != 1 or serving[0] != self.sections["start"][-1]:
            raise RecipeError(f"{self.script}: the start section must end with the one "
                              "command that serves")
        return serving[0]

    @property
    def svc_conf(self):
        """The operator path of the daemon's --config-file."""
        words = shlex.split(self.daemon)
        return words[words.index("--config-file") + 1]

    @property
    def script(self):
        return os.path.join(self.directory, SCRIPT)

    def ports(self):
        """Every port of the recipe's svc.conf (memcached's too): the ones a run replaces."""
        with open(os.path.join(self.directory, "svc.conf")) as f:
            return [int(port) for port in _PORT_OPTION.findall(f.read())] + [MEMCACHED_PORT]

    def files(self):
        """The recipe's files other than setup.sh: what its commands copy into place."""
        return sorted(name for name in os.listdir(self.directory) if name != SCRIPT)


def shorten(command, limit=70):
    """A command for a progress line."""
    command = " ".join(command.split())
    return command if len(command) <= limit else command[:limit - 3] + "..."


def read(recipes_dir, service):
    """The Recipe of `service`, from recipes_dir/<service>/setup.sh."""
    directory = os.path.join(recipes_dir, service)
    with open(os.path.join(directory, SCRIPT)) as f:
        sections = split_sections(f.read(), f.name)
    return Recipe(service, directory, sections)


def split_sections(text, name="setup.sh"):
    """{section: [command]} of a setup.sh; every section of SECTIONS must be there, in order."""
    sections, current = {}, None
    for line in commands(text):
        match = _SECTION_LINE.match(line)
        if match:
            current = match.group(1)
            sections[current] = []
        elif current is None:
            continue   # the preamble: set -e
        else:
            sections[current].append(line)
    if tuple(sections) != SECTIONS:
        raise RecipeError(f"{name}: sections {', '.join(sections) or 'none'}; "
                          f"expected {', '.join(SECTIONS)}")
    return sections


def commands(text):
    """The script's lines as commands: continuations joined, comments dropped but section lines."""
    joined, pending = [], ""
    for line in text.splitlines():
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line, pending = (pending + line.strip()).strip(), ""
        if line and (_SECTION_LINE.match(line) or not line.startswith("#")):
            joined.append(line)
    return joined


@dataclasses.dataclass
class Relocation:
    """Where one run puts what the recipe puts in operator paths; all changes are made here."""
    recipe: Recipe
    root: str               # /etc/... and /var/lib/... move under it
    venv: str               # /opt/<service> becomes it
    copy: str               # the recipe's files, changed as files are, live here
    ports: dict             # recipe port -> the run's port

    def path(self, operator_path):
        return self.root + operator_path

    def text(self, text):
        """A recipe file's text as the run has it."""
        return self._pattern().sub(self._replace, _with_ports(text, self.ports))

    def command(self, command):
        """A recipe command as the run runs it."""
        return self._pattern().sub(self._replace, command)

    def write_copy(self, change=lambda name, text: text):
        """Copy the recipe's files into `copy`, as the run has them; change(name, text) may change one more."""
        os.makedirs(self.copy, exist_ok=True)
        for name in self.recipe.files():
            with open(os.path.join(self.recipe.directory, name)) as f:
                text = change(name, self.text(f.read()))
            with open(os.path.join(self.copy, name), "w") as f:
                f.write(text)

    def _pattern(self):
        # One pass, so a replacement is never replaced again.
        ports = "|".join(str(port) for port in self.ports)
        return re.compile(
            rf"(?P<venv>(?<![\w./-]){re.escape(self.recipe.venv)}(?=/|\s|$))"
            rf"|(?P<recipe>(?<![\w./-])etc/recipes/{re.escape(self.recipe.service)}/)"
            r"|(?<![\w.-])/(?P<operator>etc|var/lib)/"
            + (rf"|(?<=:)(?P<port>{ports})\b" if ports else ""))

    def _replace(self, match):
        if match.group("venv"):
            return self.venv
        if match.group("recipe"):
            return self.copy.rstrip("/") + "/"
        if match.group("operator"):
            return f"{self.root}/{match.group('operator')}/"
        return str(self.ports[int(match.group("port"))])


def _with_ports(text, ports):
    """`port = N` lines with the run's port for every recipe port N."""
    def replace(match):
        port = int(match.group(1))
        return match.group(0).replace(str(port), str(ports.get(port, port)))
    return _PORT_OPTION.sub(replace, text)


def with_worker_model(svc_conf_text, model):
    """svc.conf's text with every enabled app's worker_model set to `model`; as it is for None (the recipe's own)."""
    if model is None:
        return svc_conf_text
    apps = set(_enabled_apis(svc_conf_text))
    lines, section = [], None
    for line in svc_conf_text.splitlines():
        header = re.match(r"^\[([^\]]+)\]\s*$", line)
        if header:
            section = header.group(1)
            lines.append(line)
            if section in apps:
                lines.append(f"worker_model = {model}")
            continue
        if section in apps and re.match(r"^worker_model\s*=", line):
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def app_models(svc_conf):
    """{app: the worker_model the svc.conf gives it} (eventlet, the default, where none)."""
    parser = configparser.ConfigParser()
    parser.read(svc_conf)
    return {app: parser.get(app, "worker_model", fallback="eventlet")
            for app in _enabled_apis_of(parser)}


def _enabled_apis(svc_conf_text):
    parser = configparser.ConfigParser()
    parser.read_string(svc_conf_text)
    return _enabled_apis_of(parser)


def _enabled_apis_of(parser):
    return [a.strip() for a in parser["DEFAULT"]["enabled_apis"].split(",") if a.strip()]


def app_ports(svc_conf):
    """{app: port} of a svc.conf, in enabled_apis order."""
    parser = configparser.ConfigParser()
    parser.read(svc_conf)
    return {app: parser.getint(app, "port") for app in _enabled_apis_of(parser)}
