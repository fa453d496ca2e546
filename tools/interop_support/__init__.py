"""tools/interop's parts: it serves the real OpenStack services from their recipes.

recipes.py   a recipe's commands (etc/recipes/<service>/setup.sh) and how a run moves them
services.py  each service's checks: what a served service must answer
client.py    HTTP requests to a served app, and CheckFailed
daemon.py    starting, reloading under load and stopping service-api
behind_apache.py  keystone behind devstack's Apache line, on a uwsgi Unix socket
swift.py     what only swift needs: its swift_dir in workers, a memcached
memory.py    the resident memory of a daemon's workers
report.py    the rows printed at the end, and progress lines
main.py      the command line, and one service in one worker model, from its recipe to its stop
"""
