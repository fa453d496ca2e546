#!/bin/sh
# nova's compute and metadata APIs under one service-api, on one node: the
# commands of doc/source/services/nova.rst. Run them (or this file: sh
# etc/recipes/nova/setup.sh) as root, from the top of a service-api clone.
# tools/interop runs them too, with its own paths and ports.
set -e

# -- install
python3 -m venv /opt/nova
/opt/nova/bin/pip install nova==34.0.0 ./

# -- configure
mkdir -p /etc/service-api/nova /etc/nova /var/lib/nova
cp etc/recipes/nova/svc.conf etc/recipes/nova/api-paste.ini /etc/service-api/nova/
cp etc/recipes/nova/nova.conf /etc/nova/
# nova's own paste pipelines, as the nova package ships them.
cp /opt/nova/etc/nova/api-paste.ini /etc/nova/

# -- prepare
/opt/nova/bin/nova-manage --config-file /etc/nova/nova.conf api_db sync
/opt/nova/bin/nova-manage --config-file /etc/nova/nova.conf cell_v2 map_cell0 \
    --database_connection sqlite:////var/lib/nova/nova_cell0.sqlite
/opt/nova/bin/nova-manage --config-file /etc/nova/nova.conf cell_v2 create_cell --name cell1
/opt/nova/bin/nova-manage --config-file /etc/nova/nova.conf db sync

# -- start
/opt/nova/bin/service-api --check-config --config-file /etc/service-api/nova/svc.conf
/opt/nova/bin/service-api --config-file /etc/service-api/nova/svc.conf
