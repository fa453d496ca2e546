"""The README's commands are the ones the project really runs."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _read(path):
    with open(os.path.join(REPO, path)) as f:
        return f.read()


def _command_after(text, marker):
    """The first indented line of the literal block after `marker`."""
    after = text[text.index(marker):]
    return next(line.strip() for line in after.splitlines()[1:]
                if line.startswith("    "))


def test_ci_runs_exactly_the_readme_test_command():
    readme_command = _command_after(_read("README.rst"), "Install and run the tests")
    ci_commands = [line for line in _read(".ci/run").splitlines()
                   if line and not line.startswith(("#", "set ", "cd "))]
    assert ci_commands == [readme_command]


def test_readme_demo_command_uses_the_sample_config():
    command = _command_after(_read("README.rst"), "Install and run the demo")
    assert command.endswith("service-api --config-file etc/svc.conf")
    assert os.path.exists(os.path.join(REPO, "etc", "svc.conf"))
