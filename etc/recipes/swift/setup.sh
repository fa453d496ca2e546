#!/bin/sh
# swift's proxy under service-api, on one node: the commands of
# doc/source/services/swift.rst. Run them (or this file: sh
# etc/recipes/swift/setup.sh) as root, from the top of a service-api
# clone, with memcached running. tools/interop runs them too, with its own
# paths and ports.
set -e

# -- install
python3 -m venv /opt/swift
/opt/swift/bin/pip install swift==2.38.3 ./

# -- configure
mkdir -p /etc/service-api/swift /etc/swift
cp etc/recipes/swift/svc.conf etc/recipes/swift/api-paste.ini /etc/service-api/swift/
cp etc/recipes/swift/proxy-server.conf etc/recipes/swift/swift.conf /etc/swift/

# -- prepare
# The rings: one device per ring, for a trial.
/opt/swift/bin/swift-ring-builder /etc/swift/account.builder create 4 1 1
/opt/swift/bin/swift-ring-builder /etc/swift/account.builder add r1z1-127.0.0.1:6202/d1 1
/opt/swift/bin/swift-ring-builder /etc/swift/account.builder rebalance
/opt/swift/bin/swift-ring-builder /etc/swift/container.builder create 4 1 1
/opt/swift/bin/swift-ring-builder /etc/swift/container.builder add r1z1-127.0.0.1:6201/d1 1
/opt/swift/bin/swift-ring-builder /etc/swift/container.builder rebalance
/opt/swift/bin/swift-ring-builder /etc/swift/object.builder create 4 1 1
/opt/swift/bin/swift-ring-builder /etc/swift/object.builder add r1z1-127.0.0.1:6200/d1 1
/opt/swift/bin/swift-ring-builder /etc/swift/object.builder rebalance

# -- start
/opt/swift/bin/service-api --check-config --config-file /etc/service-api/swift/svc.conf
/opt/swift/bin/service-api --config-file /etc/service-api/swift/svc.conf
