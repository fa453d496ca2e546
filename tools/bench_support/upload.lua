-- wrk: every request POSTs a 1 MiB body (wrk adds the Content-Length).
wrk.method = "POST"
wrk.body = string.rep("u", 1024 * 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
