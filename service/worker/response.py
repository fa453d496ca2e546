"""start_response() and write() of one request: the head service.http.response makes, and the body as it frames it.

It sends; it never decides. What it learns (the head's keep-alive-or-close,
a body past or short of its Content-Length) it keeps for the exchange,
which decides what becomes of the connection. The head goes out with the
first piece of body, and the last piece with the end of the body, in one
send each.

Imported only in workers, after the fork.
"""

import time
from typing import Callable

from service.http import response as http_response
from service.http.head import RequestHead


class Response:
    """What start_response() set and what write() has sent, for one request."""

    __slots__ = ("_send", "_request", "_may_keep_alive", "headers_set",
                 "status_code", "bodyless", "head", "length")

    def __init__(self, send: Callable[[bytes], None], request: RequestHead,
                 may_keep_alive: Callable[[], bool]):
        self._send = send
        self._request = request
        # Asked when the head is made: may the connection carry another request?
        self._may_keep_alive = may_keep_alive
        self.headers_set = None     # [status, headers] from start_response
        self.status_code = 200
        self.bodyless = False
        self.head = None            # the ResponseHead, once sent
        self.length = 0             # bytes sent, head included

    @property
    def head_sent(self):
        return self.head is not None

    def start_response(self, status, response_headers, exc_info=None):
        self.status_code = code = http_response.status_code(status)
        if exc_info:
            try:
                if self.head is not None:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        self.bodyless = http_response.is_bodyless(self._request.method, code)
        self.headers_set = [status, http_response.capitalized(response_headers)]
        return self.write

    def write(self, data):
        """The write() callable of start_response, and the body's way out."""
        if self.head is not None and not data:
            return  # an empty chunk would end a chunked body
        self._sent(self._framed(data))

    def end(self, data=b""):
        """Send `data`, the body's last piece, with what ends the body (and the head if it has not gone): in one send.

        A chunked body's last chunk then shares its send (a system call, and
        a packet) with the last piece of body.
        """
        out = self._framed(data)
        self._sent(out + self.head.body.end())

    def _framed(self, data):
        """`data` framed for the body, after the head when the head has not gone yet."""
        if not self.headers_set:
            raise AssertionError("write() before start_response()")
        if self.head is None:
            head = self._make_head()
            out = head.data + head.body.frame(data)
            self.head = head
            return out
        return self.head.body.frame(data)

    def _make_head(self):
        status, headers = self.headers_set
        return http_response.response_head(status, headers, self._request,
                                           self._may_keep_alive(), time.time())

    def _sent(self, out):
        if out:
            self._send(out)
            self.length += len(out)
