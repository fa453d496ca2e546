#!/bin/sh
# glance's image API under service-api, on one node: the commands of
# doc/source/services/glance.rst. Run them (or this file: sh
# etc/recipes/glance/setup.sh) as root, from the top of a service-api
# clone. tools/interop runs them too, with its own paths and ports.
set -e

# -- install
python3 -m venv /opt/glance
/opt/glance/bin/pip install glance==33.0.0 ./

# -- configure
mkdir -p /etc/service-api/glance /etc/glance /var/lib/glance
cp etc/recipes/glance/svc.conf etc/recipes/glance/api-paste.ini /etc/service-api/glance/
cp etc/recipes/glance/glance-api.conf /etc/glance/
# glance's own paste pipeline, as the glance package ships it.
cp /opt/glance/etc/glance/glance-api-paste.ini /etc/glance/

# -- prepare
/opt/glance/bin/glance-manage --config-file /etc/glance/glance-api.conf db_sync

# -- start
/opt/glance/bin/service-api --check-config --config-file /etc/service-api/glance/svc.conf
/opt/glance/bin/service-api --config-file /etc/service-api/glance/svc.conf
