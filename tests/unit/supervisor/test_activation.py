"""systemd socket activation: which descriptors systemd passed, and by which names."""

import os
import socket

import pytest

from service.errors import ConfigError
from service.supervisor import activation


def test_named_descriptors_from_three_on():
    environ = {"LISTEN_PID": "42", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "keystone:placement"}
    assert activation.passed_fds(environ, 42) == {"keystone": 3, "placement": 4}


def test_descriptors_meant_for_another_process_are_not_ours():
    environ = {"LISTEN_PID": "41", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "keystone"}
    assert activation.passed_fds(environ, 42) == {}
    assert activation.passed_fds({}, 42) == {}


def test_without_names_systemd_says_unknown():
    assert activation.passed_fds({"LISTEN_PID": "7", "LISTEN_FDS": "1"}, 7) == {"unknown": 3}


def test_two_sockets_of_one_name_are_an_error():
    environ = {"LISTEN_PID": "7", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "api:api"}
    with pytest.raises(ConfigError, match="more than one socket named api"):
        activation.passed_fds(environ, 7)


def test_a_bad_count_is_an_error():
    with pytest.raises(ConfigError, match="LISTEN_FDS: not a number"):
        activation.passed_fds({"LISTEN_PID": "7", "LISTEN_FDS": "x"}, 7)


def test_taking_them_removes_the_variables_and_checks_each_socket():
    environ = {"LISTEN_PID": "1", "LISTEN_FDS": "0", "LISTEN_FDNAMES": "", "OTHER": "x"}
    assert activation.take_passed_sockets(environ) == {}
    assert environ == {"OTHER": "x"}


def test_a_passed_socket_that_does_not_listen_is_refused():
    sock = socket.socket()
    try:
        with pytest.raises(ConfigError, match="not a listening stream socket"):
            activation._listening_socket("api", os.dup(sock.fileno()))
    finally:
        sock.close()
