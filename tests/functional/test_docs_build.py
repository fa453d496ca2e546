"""The guide and the man page build from doc/source with no warning, and show every option."""

import os
import subprocess
import sys

import pytest

from service import conf as service_conf

# What this module checks happens before any worker serves: once, not per model.
pytestmark = pytest.mark.any_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(REPO, "doc", "source")


@pytest.fixture(scope="module")
def doctrees(tmp_path_factory):
    """Shared by the builds: the second one reuses what the first one read."""
    return tmp_path_factory.mktemp("doctrees")


def _sphinx(builder, out_dir, doctrees):
    """Build with warnings as errors, as README says; fail with Sphinx's own output."""
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", builder, "-d", str(doctrees),
         SOURCE, str(out_dir)],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, (
        f"sphinx -W -b {builder} exited {result.returncode}:\n"
        f"{result.stderr}{result.stdout}")
    return out_dir


def test_html_guide_builds_and_its_reference_lists_every_option(tmp_path, doctrees):
    html = _sphinx("html", tmp_path / "html", doctrees)
    with open(html / "reference" / "config-options.html") as f:
        reference = f.read()
    missing = [f"{group}.{opt.dest}" for group, opts in service_conf.list_opts()
               for opt in opts if f'id="{group}.{opt.dest}"' not in reference]
    assert not missing, f"options missing from the configuration reference: {missing}"
    # oslo.log's, as in the sample config.
    assert 'id="DEFAULT.log_file"' in reference


def test_man_page_builds_with_every_command_line_option(tmp_path, doctrees):
    man = _sphinx("man", tmp_path / "man", doctrees)
    with open(man / "service-api.1") as f:
        page = f.read()
    for section in ("SYNOPSIS", "OPTIONS", "SIGNALS", "EXIT STATUS", "FILES", "EXAMPLES"):
        assert f'.SH {section}' in page
    for option in ("check\\-config", "check\\-config\\-timeout", "config\\-file",
                   "config\\-dir", "log\\-file", "debug"):
        assert f".B \\-\\-{option}" in page, option
