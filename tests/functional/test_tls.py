"""TLS per app: HTTPS, client certificates, minimum version, bad files as configuration errors."""

import json
import signal
import socket
import ssl
import subprocess

import pytest

from tests.functional.daemon import read_until_close, write_config
from tests.functional.test_config_errors import assert_config_error

PASTE = """
    [app:echo]
    paste.app_factory = service.demo:echo_app_factory
"""


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=test CA", cwd=d)
    for name, extension in (("server", "subjectAltName=IP:127.0.0.1"),
                            ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(extension + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey",
                "ca.key", "-CAcreateserial", "-days", "2", "-out", f"{name}.pem",
                "-extfile", f"{name}.ext", cwd=d)
    return d


def tls_app(pki, **options):
    return {"echo": {"cert_file": pki / "server.pem", "key_file": pki / "server.key",
                     **options}}


def client_context(pki, cert=False, maximum=None):
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if cert:
        context.load_cert_chain(pki / "client.pem", pki / "client.key")
    if maximum:
        context.maximum_version = maximum
    return context


def https_get(daemon, context, path="/"):
    with socket.create_connection(daemon.address("echo"), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                         .encode())
            data = read_until_close(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


def test_https(tmp_path, daemons, pki):
    conf = write_config(tmp_path, tls_app(pki), PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    assert daemon.urls["echo"].startswith("https://127.0.0.1:")
    status, body = https_get(daemon, client_context(pki), "/secure")
    assert status == b"HTTP/1.1 200 OK"
    assert json.loads(body)["scheme"] == "https"


def test_plain_http_on_a_tls_port_fails_alone(tmp_path, daemons, pki):
    conf = write_config(tmp_path, tls_app(pki), PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    workers = daemon.workers()
    assert len(workers) == 1
    with socket.create_connection(daemon.address("echo"), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" not in sock.recv(4096)
    assert https_get(daemon, client_context(pki))[0] == b"HTTP/1.1 200 OK"
    assert daemon.workers() == workers


def test_client_certificate_required_when_ca_file_is_set(tmp_path, daemons, pki):
    conf = write_config(tmp_path, tls_app(pki, ca_file=pki / "ca.pem"), PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        https_get(daemon, client_context(pki, cert=False))
    assert https_get(daemon, client_context(pki, cert=True))[0] == b"HTTP/1.1 200 OK"


def test_minimum_tls_version(tmp_path, daemons, pki):
    conf = write_config(tmp_path, tls_app(pki, tls_minimum_version="TLSv1.3"), PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    with pytest.raises(ssl.SSLError):
        https_get(daemon, client_context(pki, maximum=ssl.TLSVersion.TLSv1_2))
    assert https_get(daemon, client_context(pki))[0] == b"HTTP/1.1 200 OK"


@pytest.mark.parametrize("options, expected", [
    ({"cert_file": "missing.pem"}, "cannot load"),
    ({"key_file": "ca.key"}, "cannot load"),
    ({"ca_file": "missing-ca.pem"}, "[echo] ca_file"),
    ({"key_file": None}, "needs both cert_file and key_file"),
], ids=["missing cert", "key of another cert", "missing ca", "no key"])
def test_bad_tls_files_are_configuration_errors(tmp_path, pki, options, expected):
    options = {key: (pki / value if value else None) for key, value in options.items()}
    conf = write_config(tmp_path, tls_app(pki, **options), PASTE)
    assert_config_error(tmp_path, conf, "app echo", expected)


def test_bad_certificate_on_reload_keeps_serving(tmp_path, daemons, pki):
    conf = write_config(tmp_path, tls_app(pki), PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    write_config(tmp_path, tls_app(pki, cert_file=pki / "missing.pem"), PASTE)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"Reload failed, generation 1 keeps serving: .*cannot load")
    assert https_get(daemon, client_context(pki))[0] == b"HTTP/1.1 200 OK"
