"""A recipe's files, written under a root instead of / so that a tool can run it anywhere."""

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = os.path.join(REPO, "etc", "recipes")
# Operator paths the recipes use; a run moves them under its own root.
_OPERATOR_PATH = re.compile(r"(?<![\w.-])/(etc|var/lib)/")


def under_root(root, operator_path):
    return root + operator_path


def template(text, root):
    """A recipe file's text with its operator paths moved under `root`."""
    return _OPERATOR_PATH.sub(lambda m: f"{root}/{m.group(1)}/", text)


def recipe_text(service, name):
    """The text of etc/recipes/<service>/<name>."""
    with open(os.path.join(RECIPES, service, name)) as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
