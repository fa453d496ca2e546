"""service.source_files: a worker builds from its generation's files, whatever the disk holds now."""

import os

from service.source_files import SourceFiles


def _files(tmp_path):
    (tmp_path / "svc.conf").write_text("[DEFAULT]\nenabled_apis = a\n")
    (tmp_path / "api-paste.ini").write_text("[app:a]\nuse = egg:x\n")
    (tmp_path / "policy.yaml").write_text("{}\n")
    return [str(tmp_path / "svc.conf"), str(tmp_path / "api-paste.ini")]


def test_unchanged_files_are_used_where_they_are(tmp_path):
    paths = _files(tmp_path)
    sources = SourceFiles(paths)
    assert sources.usable_paths() == {path: path for path in paths}
    assert sources.changed() == []


def test_a_changed_file_is_read_from_a_copy_beside_links_to_its_neighbours(tmp_path):
    conf, paste = _files(tmp_path)
    sources = SourceFiles([conf, paste])
    (tmp_path / "svc.conf").write_text("rejected by a reload\n")
    usable = sources.usable_paths()
    try:
        assert sources.changed() == [conf]
        assert usable[paste] == paste
        copy = usable[conf]
        assert copy != conf
        with open(copy) as f:
            assert f.read() == "[DEFAULT]\nenabled_apis = a\n"
        # What the file names relative to itself is still there.
        neighbours = os.path.dirname(copy)
        assert os.readlink(os.path.join(neighbours, "policy.yaml")) == str(tmp_path / "policy.yaml")
        assert open(os.path.join(neighbours, "api-paste.ini")).read().startswith("[app:a]")
    finally:
        sources.remove_copies()
    assert not os.path.exists(copy)


def test_a_deleted_file_is_read_from_a_copy(tmp_path):
    conf, paste = _files(tmp_path)
    sources = SourceFiles([conf, paste])
    os.remove(paste)
    usable = sources.usable_paths()
    try:
        with open(usable[paste]) as f:
            assert f.read() == "[app:a]\nuse = egg:x\n"
    finally:
        sources.remove_copies()
