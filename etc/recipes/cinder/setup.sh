#!/bin/sh
# cinder's volume API under service-api, on one node: the commands of
# doc/source/services/cinder.rst. Run them (or this file: sh
# etc/recipes/cinder/setup.sh) as root, from the top of a service-api
# clone. tools/interop runs them too, with its own paths and ports.
set -e

# -- install
python3 -m venv /opt/cinder
/opt/cinder/bin/pip install cinder==29.0.0 ./

# -- configure
mkdir -p /etc/service-api/cinder /etc/cinder /var/lib/cinder
cp etc/recipes/cinder/svc.conf etc/recipes/cinder/api-paste.ini /etc/service-api/cinder/
cp etc/recipes/cinder/cinder.conf /etc/cinder/
# cinder's own paste pipeline, as the cinder package ships it.
cp /opt/cinder/etc/cinder/api-paste.ini /etc/cinder/

# -- prepare
/opt/cinder/bin/cinder-manage --config-file /etc/cinder/cinder.conf db sync

# -- start
/opt/cinder/bin/service-api --check-config --config-file /etc/service-api/cinder/svc.conf
/opt/cinder/bin/service-api --config-file /etc/service-api/cinder/svc.conf
