"""TLS for an app: the server-side SSLContext, built from the app's options.

Stdlib ssl only, no eventlet: the supervisor builds a context to check the
files at start and on reload; each worker builds its own after the fork
(where eventlet's monkey-patching makes it a green context).
"""

import dataclasses
import ssl

from service.errors import ConfigError

MINIMUM_VERSIONS = {
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


@dataclasses.dataclass(frozen=True)
class TlsSettings:
    cert_file: str
    key_file: str
    ca_file: str
    minimum_version: str


def server_context(app_name, settings):
    """The SSLContext serving `settings`, or ConfigError naming the option and the cause."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM_VERSIONS[settings.minimum_version]
    try:
        context.load_cert_chain(settings.cert_file, settings.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"[{app_name}] cert_file/key_file: app {app_name}: "
                          f"cannot load {settings.cert_file} with "
                          f"{settings.key_file}: {_reason(exc)}") from None
    if settings.ca_file:
        try:
            context.load_verify_locations(settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"[{app_name}] ca_file: app {app_name}: cannot "
                              f"load {settings.ca_file}: {_reason(exc)}") from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _reason(exc):
    return exc.strerror or getattr(exc, "reason", None) or str(exc)
