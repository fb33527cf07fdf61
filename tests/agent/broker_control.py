"""A Mosquitto the fault tests can stop and start again on the same port, with TLS if asked.

The project's configuration (password file, ACL) comes from :mod:`fleet.broker`; this adds
persistence (so that a subscriber's session and its queued messages survive a restart, as the
fleet's would) and an optional TLS listener with a throwaway CA made with ``cryptography``.
"""

from __future__ import annotations

import datetime
import getpass
import ipaddress
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fleet.broker import (
    RunningBroker,
    free_port,
    listener_lines,
    wait_for_port,
    write_broker_config,
)

HOST = "127.0.0.1"


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(directory: Path, host: str = HOST) -> TlsFiles:
    """A throwaway CA and a server certificate for ``host`` signed by it."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiosk test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


class RestartableBroker:
    """Mosquitto with the project's ACL, persistence, and optionally a TLS listener too."""

    def __init__(
        self,
        directory: Path,
        credentials: Mapping[str, str],
        port: int | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        self.host = HOST
        self.port = port or free_port()
        self.tls_port = free_port() if tls else None
        self.directory = directory
        persistence = directory / "persistence"
        persistence.mkdir(parents=True, exist_ok=True)
        self.conf = write_broker_config(
            directory / "config",
            self.port,
            credentials,
            persistence_dir=persistence,
            run_as=getpass.getuser(),
        )
        if tls is not None:
            with self.conf.open("a") as conf:
                conf.write(
                    "\n".join(listener_lines(self.tls_port, HOST)) + "\n"
                    f"cafile {tls.ca_file}\ncertfile {tls.cert_file}\nkeyfile {tls.key_file}\n"
                    "tls_version tlsv1.2\n"
                )
        self._running: RunningBroker | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        log = (self.directory / "mosquitto.log").open("ab")
        process = subprocess.Popen([binary, "-c", str(self.conf)], stdout=log, stderr=log)
        log.close()
        self._running = RunningBroker(self.host, self.port, self.conf.parent, process)
        ports = [self.port] + ([self.tls_port] if self.tls_port else [])
        for port in ports:
            if not wait_for_port(self.host, port, timeout_s=10):
                self.stop()
                raise AssertionError(f"mosquitto did not listen on {port}; see {self.directory}")

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def kill(self) -> None:
        """``kill -9``: the broker keeps only what it saved last (every autosave interval)."""
        if self._running is not None:
            self._running.process.kill()
            self._running.process.wait(timeout=10)
            self._running = None


@contextmanager
def restartable_broker(
    directory: Path, credentials: Mapping[str, str], tls: TlsFiles | None = None
) -> Iterator[RestartableBroker]:
    broker = RestartableBroker(directory, credentials, tls=tls)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
