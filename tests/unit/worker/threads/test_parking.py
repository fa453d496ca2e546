"""service.worker.threads.parking: the lot's thread, its expiries, and a connection's wait, with real sockets."""

import socket
import threading
import time

import pytest

from service.http import head as http11
from service.worker.socket_reader import SocketReader
from service.worker.threads import parking
from service.worker.threads import sockets


class Connections:
    def __init__(self):
        self.events = []

    def parked(self, parked):
        self.events.append("parked")

    def resumed(self, parked):
        self.events.append("resumed")

    def closed(self, parked):
        self.events.append("closed")


class Lot:
    """A started lot whose resumptions land in a list."""

    def __init__(self, idle_timeout=0, head_timeout=0):
        self.resumed = []
        self.connections = Connections()
        self.lot = parking.ParkingLot(lambda *args: self.resumed.append(args),
                                      self.connections, idle_timeout, head_timeout)
        self.lot.start()


@pytest.fixture
def lots():
    made = []

    def make(idle_timeout=0, head_timeout=0):
        made.append(Lot(idle_timeout, head_timeout))
        return made[-1]

    yield make
    for lot in made:
        lot.lot.stop()


@pytest.fixture
def pair():
    """(the worker's end as a request thread serves it, the client's end)."""
    server, client = socket.socketpair()
    yield sockets.ClientSocket(server, 900), client
    server.close()
    client.close()


def wait_for(condition, seconds=3.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def reader_of(sock):
    return SocketReader(sock, sockets.receive_now)


def test_a_parked_connection_is_resumed_once_with_its_reader_when_it_speaks(lots, pair):
    server, client = pair
    lot = lots()
    reader = reader_of(server)
    lot.lot.park(server, ("192.0.2.1", 4000), reader, time.monotonic())
    time.sleep(0.05)
    assert lot.resumed == [] and lot.connections.events == ["parked"]
    client.sendall(b"GET")
    wait_for(lambda: lot.resumed)
    time.sleep(0.05)  # one event only: the set was armed once
    assert lot.resumed == [(server, ("192.0.2.1", 4000), reader)]
    assert lot.connections.events == ["parked", "resumed"]


def test_a_connection_parked_again_is_resumed_again(lots, pair):
    server, client = pair
    lot = lots()
    for round_number in (1, 2):
        lot.lot.park(server, ("192.0.2.1", 4000), reader_of(server), time.monotonic())
        client.sendall(b"x")
        wait_for(lambda: len(lot.resumed) == round_number)
        server.recv(1)


def test_an_idle_connection_is_closed_after_the_idle_timeout(lots, pair):
    server, client = pair
    lot = lots(idle_timeout=1)
    lot.lot.park(server, ("192.0.2.1", 4000), reader_of(server), time.monotonic())
    client.settimeout(5)
    started = time.monotonic()
    assert client.recv(1) == b""
    assert 0.9 < time.monotonic() - started < 3
    assert lot.connections.events == ["parked", "closed"] and lot.resumed == []


def test_a_connection_silent_in_the_middle_of_a_head_is_resumed_to_time_out(lots, pair):
    server, client = pair
    lot = lots(idle_timeout=1)
    reader = reader_of(server)
    client.sendall(b"GET / HTTP/1.1\r\n")
    assert reader.receive_now()
    lot.lot.park(server, ("192.0.2.1", 4000), reader, time.monotonic())
    wait_for(lambda: lot.resumed, seconds=5)
    # A request thread answers 408: its next read gives up at once.
    assert lot.resumed == [(server, ("192.0.2.1", 4000), reader)]
    with pytest.raises(TimeoutError):
        reader.receive()


def test_a_head_is_resumed_to_time_out_at_its_deadline_however_recently_it_spoke(lots, pair):
    server, client = pair
    lot = lots(idle_timeout=60, head_timeout=1)
    reader = reader_of(server)
    client.sendall(b"GET / HTTP/1.1\r\n")
    assert reader.receive_now()
    reader.deadline = time.monotonic() + 1  # its first byte came a second ago
    # Parked again as each byte comes: an idle time that starts afresh.
    lot.lot.park(server, ("192.0.2.1", 4000), reader, time.monotonic())
    wait_for(lambda: lot.resumed, seconds=5)
    assert reader.overdue(time.monotonic())
    with pytest.raises(TimeoutError):
        reader.receive()


def test_a_drain_closes_a_parked_connection_and_it_is_never_resumed(lots, pair):
    server, client = pair
    lot = lots()
    lot.lot.park(server, ("192.0.2.1", 4000), reader_of(server), time.monotonic())
    parked = lot.lot._parked[server.fileno()]
    parked.close_if_idle()
    client.settimeout(5)
    assert client.recv(1) == b""  # closed
    time.sleep(0.05)
    assert lot.resumed == [] and lot.connections.events == ["parked", "closed"]
    parked.close_if_idle()  # twice: nothing more
    assert lot.connections.events == ["parked", "closed"]


class Conn:
    """What ThreadWaiting sees of a connection: its socket, reader, head limits and head clock."""

    def __init__(self, sock, head_timeout=60):
        self.sock = sock
        self.client_address = ("192.0.2.1", 4000)
        self.reader = reader_of(sock)
        self.head_timeout = head_timeout

    def head_is_decided(self):
        return http11.is_decided(self.reader.unread())

    def start_head_clock(self):
        if self.reader.deadline is None:
            self.reader.deadline = time.monotonic() + self.head_timeout


@pytest.mark.parametrize("sent, reads", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),   # whole
    (b"GARBAGE\r\n", True),                         # refused already
    (b"GET / HTTP/1.1\r\nHo", False),               # half: parked, no thread held
    (b"", False),                                   # nothing yet
])
def test_a_request_thread_reads_a_head_only_once_it_is_decided(lots, pair, sent, reads):
    server, client = pair
    lot = lots()
    conn = Conn(server)
    if sent:
        client.sendall(sent)
    assert parking.ThreadWaiting(lot.lot).for_request(conn, first=True) is reads
    assert lot.connections.events == ([] if reads else ["parked"])
    assert conn.reader.unread() == sent  # what came stays with the connection


def test_a_parked_half_head_keeps_the_deadline_of_its_first_bytes(lots, pair):
    server, client = pair
    lot = lots()
    conn = Conn(server, head_timeout=0.2)
    client.sendall(b"GET / HTTP/1.1\r\n")
    waiting = parking.ThreadWaiting(lot.lot)
    assert not waiting.for_request(conn, first=True)  # parked, its clock started
    deadline = conn.reader.deadline
    time.sleep(0.25)
    client.sendall(b"Ho")  # more, but not the whole head, and too late
    assert waiting.for_request(conn, first=True)  # goes on to its 408
    assert conn.reader.deadline == deadline


def test_the_end_of_the_stream_goes_to_the_read(lots, pair):
    server, client = pair
    client.close()
    assert parking.ThreadWaiting(lots().lot).for_request(Conn(server), first=True)


def test_after_a_response_the_connection_parks_without_a_look(lots, pair):
    server, client = pair
    lot = lots()
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # already there
    conn = Conn(server)
    assert not parking.ThreadWaiting(lot.lot).for_request(conn, first=False)
    assert conn.reader.unread() == b""  # not read here: the lot hands it back at once
    wait_for(lambda: lot.resumed)


def test_after_a_response_what_the_client_sent_along_is_read(lots, pair):
    server, client = pair
    conn = Conn(server)
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert conn.reader.receive_now()  # pipelined behind the last request
    assert parking.ThreadWaiting(lots().lot).for_request(conn, first=False)


def test_many_threads_parking_at_once_are_all_resumed(lots):
    lot = lots()
    pairs = [socket.socketpair() for _ in range(50)]
    try:
        threads = [threading.Thread(target=lot.lot.park,
                                    args=(sockets.ClientSocket(server, 900),
                                          ("192.0.2.1", n), None, time.monotonic()))
                   for n, (server, _) in enumerate(pairs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for _, client in pairs:
            client.sendall(b"x")
        wait_for(lambda: len(lot.resumed) == len(pairs))
    finally:
        for server, client in pairs:
            server.close()
            client.close()
