"""The recipes' commands (etc/recipes/<service>/setup.sh): their shape, what the guide shows of
them, and how tools/interop moves them to its own paths and ports."""

import os
import re
import shlex
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = os.path.join(REPO, "etc", "recipes")
sys.path.insert(0, os.path.join(REPO, "tools"))

from interop_support import recipes  # noqa: E402
from interop_support.services import SERVICES  # noqa: E402

NAMES = sorted(os.listdir(RECIPES))
# What each service is called on PyPI, as its page says.
PYPI = {"nova": "nova", "glance": "glance", "cinder": "cinder", "keystone": "keystone",
        "placement": "openstack-placement", "swift": "swift"}
_DATA_DIR = re.compile(r"(?<![\w.-])(/var/lib/[\w-]+)")


def _configure_dirs(recipe):
    made = set()
    for command in recipe.sections["configure"]:
        words = shlex.split(command)
        if words[:2] == ["mkdir", "-p"]:
            made.update(words[2:])
    return made


def test_every_recipe_has_its_checks_in_tools_interop():
    assert NAMES == sorted(service.name for service in SERVICES) == sorted(PYPI)


@pytest.mark.parametrize("name", NAMES)
def test_recipe_installs_its_service_from_pypi_by_its_pypi_name(name):
    recipe = recipes.read(RECIPES, name)
    assert recipe.requirement.split("==")[0] == PYPI[name]
    page = _page(name)
    assert f"PyPI: ``{PYPI[name]}``" in " ".join(page.split())


@pytest.mark.parametrize("name", NAMES)
def test_recipe_creates_every_data_directory_its_files_name(name):
    recipe = recipes.read(RECIPES, name)
    named = set()
    for file_name in recipe.files():
        with open(os.path.join(recipe.directory, file_name)) as f:
            named.update(_DATA_DIR.findall(f.read()))
    assert named <= _configure_dirs(recipe)


@pytest.mark.parametrize("name", NAMES)
def test_recipe_creates_every_directory_it_copies_into(name):
    recipe = recipes.read(RECIPES, name)
    for command in recipe.sections["configure"]:
        words = shlex.split(command)
        if words[0] == "cp":
            assert words[-1].rstrip("/") in _configure_dirs(recipe), command


@pytest.mark.parametrize("name", NAMES)
def test_recipe_checks_its_config_then_serves_it(name):
    recipe = recipes.read(RECIPES, name)
    assert recipe.checks == [recipe.daemon.replace(
        "service-api ", "service-api --check-config ", 1)]
    assert recipe.daemon == (f"/opt/{name}/bin/service-api --config-file "
                             f"/etc/service-api/{name}/svc.conf")


@pytest.mark.parametrize("name", NAMES)
def test_service_page_shows_every_section_of_its_recipe(name):
    page = _page(name)
    for section in recipes.SECTIONS:
        assert f":start-after: # -- {section}" in page, section
    assert page.count(f"etc/recipes/{name}/setup.sh") == len(recipes.SECTIONS)


def test_sections_must_all_be_there_in_order():
    with pytest.raises(recipes.RecipeError):
        recipes.split_sections("# -- install\ntrue\n# -- start\ntrue\n")


def test_commands_join_continuation_lines_and_drop_comments():
    text = "set -e\n# a comment\n# -- install\na \\\n    --b c\n\n"
    assert recipes.commands(text) == ["set -e", "# -- install", "a --b c"]


def test_relocation_moves_paths_and_ports_and_nothing_else():
    recipe = recipes.Recipe("keystone", "/r", {})
    moved = recipes.Relocation(recipe, root="/tmp/run", venv="/cache/keystone",
                               copy="/tmp/run/recipe", ports={5000: 41000})
    command = ("/opt/keystone/bin/keystone-manage --config-file /etc/keystone/keystone.conf "
               "bootstrap --bootstrap-public-url http://127.0.0.1:5000/v3/")
    assert moved.command(command) == (
        "/cache/keystone/bin/keystone-manage --config-file "
        "/tmp/run/etc/keystone/keystone.conf bootstrap "
        "--bootstrap-public-url http://127.0.0.1:41000/v3/")
    assert moved.command("cp etc/recipes/keystone/svc.conf /etc/service-api/keystone/") == (
        "cp /tmp/run/recipe/svc.conf /tmp/run/etc/service-api/keystone/")
    # A venv's own etc/ (nova's packaged api-paste.ini) is the venv's, not an operator path.
    assert moved.command("cp /opt/keystone/etc/keystone/x.ini /etc/keystone/") == (
        "cp /cache/keystone/etc/keystone/x.ini /tmp/run/etc/keystone/")
    assert moved.text("[keystone]\nport = 5000\nurl = sqlite:////var/lib/keystone/k.db\n") == (
        "[keystone]\nport = 41000\nurl = sqlite:////tmp/run/var/lib/keystone/k.db\n")


def _page(name):
    with open(os.path.join(REPO, "doc", "source", "services", f"{name}.rst")) as f:
        return f.read()


SVC_CONF = """[DEFAULT]
enabled_apis = one, two
api_paste_config = api-paste.ini

[one]
port = 8001
worker_model = threads
threads = 8

[two]
port = 8002

[keystone_authtoken]
worker_model = not an app's
"""


def test_a_run_in_another_model_sets_it_for_every_app_and_only_there(tmp_path):
    conf = tmp_path / "svc.conf"
    conf.write_text(recipes.with_worker_model(SVC_CONF, "eventlet"))
    assert recipes.app_models(conf) == {"one": "eventlet", "two": "eventlet"}
    assert "worker_model = not an app's" in conf.read_text()
    assert "threads = 8" in conf.read_text()


def test_a_run_in_the_recipes_own_model_changes_nothing(tmp_path):
    assert recipes.with_worker_model(SVC_CONF, None) == SVC_CONF
    conf = tmp_path / "svc.conf"
    conf.write_text(SVC_CONF)
    assert recipes.app_models(conf) == {"one": "threads", "two": "eventlet"}


@pytest.mark.parametrize("name", NAMES)
def test_every_recipe_says_which_model_each_app_wants(name):
    # The recipe chooses, and says so: an app's group names its worker_model.
    conf = os.path.join(RECIPES, name, "svc.conf")
    with open(conf) as f:
        text = f.read()
    for app in recipes.app_models(conf):
        section = text.split(f"[{app}]", 1)[1].split("\n[", 1)[0]
        assert re.search(r"^worker_model = (eventlet|threads)$", section, re.M), (name, app)


def test_a_runs_copy_of_the_recipes_files_has_its_paths_and_ports(tmp_path):
    recipe = recipes.read(RECIPES, "keystone")
    moved = recipes.Relocation(recipe, root=str(tmp_path / "root"), venv="/cache/keystone",
                               copy=str(tmp_path / "copy"), ports={5000: 15000})
    moved.write_copy(lambda name, text: text + "# changed\n" if name == "svc.conf" else text)
    assert sorted(os.listdir(tmp_path / "copy")) == recipe.files()
    svc_conf = (tmp_path / "copy" / "svc.conf").read_text()
    assert "port = 15000" in svc_conf and svc_conf.endswith("# changed\n")
    keystone_conf = (tmp_path / "copy" / "keystone.conf").read_text()
    assert f"{tmp_path}/root/var/lib/keystone" in keystone_conf
