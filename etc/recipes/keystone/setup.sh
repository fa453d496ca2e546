#!/bin/sh
# keystone's identity API under service-api, on one node: the commands of
# doc/source/services/keystone.rst. Run them (or this file: sh
# etc/recipes/keystone/setup.sh) as root, from the top of a service-api
# clone. tools/interop runs them too, with its own paths and ports.
set -e

# -- install
python3 -m venv /opt/keystone
/opt/keystone/bin/pip install keystone==30.0.0 ./

# -- configure
mkdir -p /etc/service-api/keystone /etc/keystone /var/lib/keystone
cp etc/recipes/keystone/svc.conf etc/recipes/keystone/api-paste.ini /etc/service-api/keystone/
cp etc/recipes/keystone/keystone.conf /etc/keystone/

# -- prepare
/opt/keystone/bin/keystone-manage --config-file /etc/keystone/keystone.conf db_sync
/opt/keystone/bin/keystone-manage --config-file /etc/keystone/keystone.conf fernet_setup \
    --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
/opt/keystone/bin/keystone-manage --config-file /etc/keystone/keystone.conf credential_setup \
    --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
/opt/keystone/bin/keystone-manage --config-file /etc/keystone/keystone.conf bootstrap \
    --bootstrap-password ADMIN_PASS --bootstrap-public-url http://127.0.0.1:5000/v3/

# -- start
/opt/keystone/bin/service-api --check-config --config-file /etc/service-api/keystone/svc.conf
/opt/keystone/bin/service-api --config-file /etc/service-api/keystone/svc.conf
