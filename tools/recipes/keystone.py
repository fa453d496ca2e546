"""keystone as etc/recipes/keystone/ serves it: the release, the files, the set-up before the first start.

The set-up commands are the ones keystone.conf's header tells an operator to
run (and uWSGI deployments run): the database, the Fernet and credential
keys, and the bootstrap of the admin user, project and endpoint. They name
operator paths; a tool moves them under its root with files.template.
"""

import grp
import json
import os
import pwd

REQUIREMENT = "keystone==30.0.0"
# recipe file -> where an operator puts it
FILES = {"svc.conf": "/etc/service-api/keystone/svc.conf",
         "api-paste.ini": "/etc/service-api/keystone/api-paste.ini",
         "keystone.conf": "/etc/keystone/keystone.conf"}
CONF = FILES["keystone.conf"]
ADMIN = "admin"
ADMIN_PASSWORD = "ADMIN_PASS"


def manage(*args):
    return ["keystone-manage", "--config-file", CONF, *args]


def prepare_commands(public_url="http://127.0.0.1:{port}/v3/"):
    """keystone-manage commands, with operator paths, run before the first start.

    The keys belong to the user running them: the recipe's `keystone` user
    is an operator's, not a tool's.
    """
    owner = ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
             "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
    return [manage("db_sync"),
            manage("fernet_setup", *owner),
            manage("credential_setup", *owner),
            manage("bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                   "--bootstrap-public-url", public_url)]


def password_auth_body():
    """POST /v3/auth/tokens: the bootstrapped admin, by password, scoped to the admin project."""
    user = {"name": ADMIN, "domain": {"id": "default"}, "password": ADMIN_PASSWORD}
    return json.dumps({"auth": {
        "identity": {"methods": ["password"], "password": {"user": user}},
        "scope": {"project": {"name": ADMIN, "domain": {"id": "default"}}},
    }}).encode()
