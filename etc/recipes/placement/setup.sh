#!/bin/sh
# The placement API under service-api, on one node: the commands of
# doc/source/services/placement.rst. Run them (or this file: sh
# etc/recipes/placement/setup.sh) as root, from the top of a service-api
# clone. tools/interop runs them too, with its own paths and ports.
set -e

# -- install
python3 -m venv /opt/placement
/opt/placement/bin/pip install openstack-placement==16.0.0 ./

# -- configure
mkdir -p /etc/service-api/placement /etc/placement /var/lib/placement
cp etc/recipes/placement/svc.conf etc/recipes/placement/api-paste.ini /etc/service-api/placement/
cp etc/recipes/placement/placement.conf /etc/placement/

# -- prepare
/opt/placement/bin/placement-manage --config-file /etc/placement/placement.conf db sync

# -- start
/opt/placement/bin/service-api --check-config --config-file /etc/service-api/placement/svc.conf
/opt/placement/bin/service-api --config-file /etc/service-api/placement/svc.conf
