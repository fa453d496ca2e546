"""The commands README and the guide's install page show are the ones the project really runs."""

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSTALL_PAGE = os.path.join("doc", "source", "install.rst")

# A directive that opens a block of the install page, and its language.
_BLOCK = re.compile(r"^\.\. (code-block|literalinclude)::.*$", re.MULTILINE)
_LANGUAGE = re.compile(r"^\.\. code-block:: *(\S+)|^ +:language: *(\S+)", re.MULTILINE)
_PROMPT = re.compile(r"^ +\$ (.+)$", re.MULTILINE)
# What a block of the install page may be besides commands: files and output.
_NOT_COMMANDS = {"ini", "text"}


def _read(path):
    with open(os.path.join(REPO, path)) as f:
        return f.read()


def _command_after(text, marker):
    """The first indented line of the literal block after `marker`."""
    after = text[text.index(marker):]
    return next(line.strip() for line in after.splitlines()[1:]
                if line.startswith("    "))


def _ci_commands():
    return [line for line in _read(".ci/run").splitlines()
            if line and not line.startswith(("#", "set ", "cd "))]


def _readme_commands():
    readme = _read("README.rst")
    return (_command_after(readme, "Install and run the demo"),
            _command_after(readme, "Install and run the tests"))


def test_ci_runs_exactly_the_readme_test_command():
    _, test_command = _readme_commands()
    assert _ci_commands() == [test_command]


def test_readme_demo_command_uses_the_sample_config():
    demo_command, _ = _readme_commands()
    assert demo_command.endswith("service-api --config-file etc/svc.conf")
    assert os.path.exists(os.path.join(REPO, "etc", "svc.conf"))


def test_install_page_shows_the_demo_command_and_the_ci_command_and_no_other():
    page = _read(INSTALL_PAGE)
    assert _PROMPT.findall(page) == list(_readme_commands())
    assert _ci_commands() == [_readme_commands()[1]]


def test_install_page_has_no_command_outside_its_console_blocks():
    """Every block says what it holds: commands ($ lines, checked above), a file, or output."""
    page = _read(INSTALL_PAGE)
    assert "::\n" not in re.sub(_BLOCK, "", page), "a bare literal block (::)"
    languages = [a or b for a, b in _LANGUAGE.findall(page)]
    assert len(languages) == len(_BLOCK.findall(page))
    assert set(languages) <= _NOT_COMMANDS | {"console"}
    console_lines = _console_block_lines(page)
    assert console_lines and all(line.startswith("$ ") for line in console_lines)


def _console_block_lines(page):
    lines, inside = [], False
    for line in page.splitlines():
        if line.startswith(".. code-block:: console"):
            inside = True
        elif inside and line and not line.startswith(" "):
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines
