"""What --check-config says each paste section is: read from the ini as text, nothing imported."""

import textwrap

from service.cmd import check

PASTE = """
    [DEFAULT]
    /leak = nothing
    pipeline = not a pipeline

    [app:main]
    use = egg:Paste#static
    document_root = %(here)s
    filter-with = gzip

    [application:legacy]
    paste.app_factory = old.module:factory

    [pipeline:api]
    pipeline = cors request_id
      catch_errors app

    [composite:root]
    use = call:nova.api.openstack.urlmap:urlmap_factory
    /: api
    /V2 = config:other.ini#v2
    not_found_app = main

    [filter:gzip]
    use = egg:Paste#gzip

    [app:compute]
    paste.app_factory = service.wsgi_module:app_factory
    module = nova.wsgi.osapi_compute:application
"""


def sections(tmp_path):
    ini = tmp_path / "api-paste.ini"
    ini.write_text(textwrap.dedent(PASTE))
    return check.read_paste_sections(str(ini))


def test_apps_show_their_factory_and_filter(tmp_path):
    found = sections(tmp_path)
    assert check.describe(found, "main") == "app: egg:Paste#static, filtered by gzip"
    assert check.describe(found, "legacy") == "app: old.module:factory"


def test_pipeline_spans_lines(tmp_path):
    assert check.describe(sections(tmp_path), "api") == (
        "pipeline: cors -> request_id -> catch_errors -> app")


def test_composite_mounts_keep_their_case_and_ignore_the_default_section(tmp_path):
    found = sections(tmp_path)
    assert check.describe(found, "root") == (
        "composite: call:nova.api.openstack.urlmap:urlmap_factory")
    assert check.mounts(found, "root") == [("/", "api"),
                                           ("/V2", "config:other.ini#v2")]


def test_names_defined_elsewhere_are_shown_as_given(tmp_path):
    found = sections(tmp_path)
    assert check.describe(found, "config:other.ini#v2") == "config:other.ini#v2"
    assert check.mounts(found, "api") == []
    assert "gzip" not in found


def test_a_service_module_shows_the_module_it_serves(tmp_path):
    assert check.describe(sections(tmp_path), "compute") == (
        "app: module nova.wsgi.osapi_compute:application")
