"""eventlet.wsgi server settings, with the names and meanings oslo.service gave them."""

from oslo_config import cfg

DEFAULT_LOG_FORMAT = ('%(client_ip)s "%(request_line)s" status: %(status_code)s  '
                      'len: %(body_length)s time: %(wall_seconds).7f')

OPTS = [
    cfg.IntOpt(
        "wsgi_default_pool_size",
        default=100,
        min=1,
        help="Green threads per worker, that is requests one worker "
             "handles at the same time."),
    cfg.IntOpt(
        "max_header_line",
        default=16384,
        min=1,
        help="Longest request header line accepted, in bytes. Raise it "
             "for large tokens (Keystone PKI tokens, for example)."),
    cfg.BoolOpt(
        "wsgi_keep_alive",
        default=True,
        help="Keep client connections open between requests (HTTP "
             "keep-alive). If false, every response closes its connection."),
    cfg.IntOpt(
        "client_socket_timeout",
        default=900,
        min=0,
        help="Seconds a client connection may stay idle or silent before "
             "it is closed. 0 waits forever."),
    cfg.IntOpt(
        "tcp_keepidle",
        default=600,
        min=1,
        help="TCP_KEEPIDLE, in seconds, for client connections: idle time "
             "before the kernel starts sending keepalive probes."),
    cfg.IntOpt(
        "backlog",
        default=4096,
        min=1,
        help="Length of each listening socket's queue of connections not "
             "yet accepted."),
    cfg.StrOpt(
        "wsgi_log_format",
        default=DEFAULT_LOG_FORMAT,
        help="Format of the access log line written for every request. "
             "Fields: client_ip, client_port, date_time, request_line, "
             "status_code, body_length, wall_seconds."),
]


def register_opts(conf):
    conf.register_opts(OPTS)
