"""etc/svc.conf.sample matches the options, and oslo-config-validator accepts etc/svc.conf."""

import configparser
import os
import re
import subprocess
import sys

import pytest

from tests.functional.daemon import REPO

# What this module checks happens before any worker serves: once, not per model.
pytestmark = pytest.mark.any_model

BIN = os.path.dirname(sys.executable)
GENERATOR_CONF = os.path.join("etc", "oslo-config-generator", "service-api.conf")
SAMPLE = os.path.join(REPO, "etc", "svc.conf.sample")
REGENERATE = f"oslo-config-generator --config-file {GENERATOR_CONF}"


def generate(output_file):
    subprocess.run([os.path.join(BIN, "oslo-config-generator"), "--config-file",
                    GENERATOR_CONF, "--output-file", str(output_file)],
                   cwd=REPO, check=True, timeout=60)
    return output_file.read_text()


def blocks(sample):
    """{(group, namespace): text} of a generated sample: one block per '# From NAMESPACE'."""
    found = {}
    group = namespace = None
    for line in sample.splitlines():
        header = re.fullmatch(r"\[(.+)\]", line)
        source = re.fullmatch(r"# From (\S+)", line)
        if header:
            group, namespace = header.group(1), None
        elif source:
            namespace = source.group(1)
            found[(group, namespace)] = ""
        elif namespace:
            found[(group, namespace)] += line + "\n"
    return found


def validate(input_file, *args):
    result = subprocess.run(
        [os.path.join(BIN, "oslo-config-validator"), "--config-file", GENERATOR_CONF,
         "--input-file", str(input_file), *args],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    return result.returncode, result.stderr


def app_groups(conf_file):
    """--exclude-group per app: enabled_apis names their groups, which no sample can know."""
    parser = configparser.ConfigParser()
    parser.read(conf_file)
    names = [name.strip() for name in parser["DEFAULT"]["enabled_apis"].split(",")]
    return [arg for name in names for arg in ("--exclude-group", name)]


def test_sample_has_every_option_of_ours_as_declared(tmp_path):
    current, fresh = blocks(open(SAMPLE).read()), blocks(generate(tmp_path / "new"))
    ours = {key: text for key, text in fresh.items() if key[1] == "service-api"}
    assert ours, "the generator found no service-api options"
    for key, text in ours.items():
        assert current.get(key) == text, (
            f"etc/svc.conf.sample is stale in [{key[0]}]: run `{REGENERATE}`")
    # Other projects' text (oslo.log) changes with their releases; that they
    # are there, in the same groups, is what the sample owes an operator.
    assert current.keys() == fresh.keys(), f"run `{REGENERATE}`"


def test_sample_shows_the_logging_options():
    assert ("DEFAULT", "oslo.log") in blocks(open(SAMPLE).read())
    assert "\n#log_file = <None>\n" in open(SAMPLE).read()


def test_validator_accepts_the_shipped_config():
    conf = os.path.join(REPO, "etc", "svc.conf")
    status, output = validate(conf, *app_groups(conf))
    assert status == 0, output


def test_validator_names_an_unknown_option(tmp_path):
    conf = tmp_path / "svc.conf"
    conf.write_text("[DEFAULT]\nenabled_apis = home\nenable_apis = home\n"
                    "debug = true\n[home]\nport = 8001\n")
    status, output = validate(conf, *app_groups(conf))
    assert status == 1
    assert "DEFAULT/enable_apis is not part of the sample config" in output
    assert "debug" not in output


def test_validator_accepts_the_haproxy_host_config_with_oslo_middleware():
    conf = os.path.join(REPO, "etc", "haproxy", "svc.conf")
    status, output = validate(conf, "--namespace", "oslo.middleware", *app_groups(conf))
    assert status == 0, output
