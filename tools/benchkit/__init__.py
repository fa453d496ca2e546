"""The pieces of tools/bench, one concern per module.

    places       where the bench keeps its files, and the fixed figures of a run
    console      progress lines and the bench's own errors
    installs     venvs, Debian packages, the lock, the generated support files
    processes    starting, stopping and reading the processes the bench starts
    waiting      waiting for a condition, a log line or a first 200
    servers      a started server, the peers and how each one starts
    service_api  service-api and its variants (svc.conf settings side by side)
    load         wrk: one load, parsed
    comparisons  the side-by-side scenarios, in interleaved rounds
    measures     spread, idle CPU, first 200, start-up
    idle         10,000 idle keep-alive connections on one worker
    profile      py-spy of a worker under load, summarized
    keystone     keystone 30 issuing and validating tokens, per server
    apache       Apache + mod_proxy_uwsgi in front, as devstack writes it
    results      the results file: its schema, and the run's metadata
    report       the tables printed as each part finishes
    ratios       the summary: service-api's ratios to its peers and variants
    cli          the command line and the run from start to end
"""
