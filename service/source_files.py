"""The files a plan was made from, as they were then: what every worker of its generation builds from.

A generation's workers build after the fork, some of them much later (a
replacement for one that died). By then the files on disk may have
changed: edited and not yet reloaded, or rejected by a reload that failed.
A replacement must still build the app its generation serves, so the plan
keeps the bytes of its config files and paste ini, and a worker that finds
the disk different builds from copies of them.

The copies sit in a directory of their own that mirrors each directory
concerned: every other entry is a link to the original, so what the files
name relative to themselves (`%(here)s` in the paste ini, a policy file
oslo.config finds beside a config file) is still found.
"""

import logging
import os
import shutil
import tempfile

LOG = logging.getLogger(__name__)


class SourceFiles:
    """The bytes of some files at one moment; unreadable files are kept as None."""

    def __init__(self, paths):
        self._contents = tuple((path, _read(path)) for path in paths)
        self._copies_dir = None

    def changed(self):
        """The files whose bytes on disk are not the kept ones any more."""
        return [path for path, data in self._contents if _read(path) != data]

    def usable_paths(self):
        """{path: a path holding the kept bytes}: the path itself while the disk still holds them."""
        changed = set(self.changed())
        usable = {path: path for path, _ in self._contents}
        if changed:
            self._copies_dir = tempfile.mkdtemp(prefix="service-api-files-")
            for directory in sorted({os.path.dirname(path) for path in changed}):
                _mirror(directory, self._mirrored(directory), changed)
            for path, data in self._contents:
                if path in changed:
                    usable[path] = self._mirrored(path)
                    _write(usable[path], data)
        return usable

    def remove_copies(self):
        if self._copies_dir:
            shutil.rmtree(self._copies_dir, ignore_errors=True)
            self._copies_dir = None

    def _mirrored(self, path):
        return os.path.join(self._copies_dir, path.lstrip(os.sep))


def _mirror(directory, mirrored, changed):
    """`mirrored` made a directory of links to every entry of `directory` but the changed files."""
    os.makedirs(mirrored, exist_ok=True)
    try:
        entries = os.listdir(directory)
    except OSError:
        entries = []  # gone: the copies are all that is left
    for entry in entries:
        original = os.path.join(directory, entry)
        if original not in changed:
            os.symlink(original, os.path.join(mirrored, entry))


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _write(path, data):
    if data is None:
        return  # unreadable then too: reading the copy fails as reading it did
    with open(path, "wb") as f:
        f.write(data)
