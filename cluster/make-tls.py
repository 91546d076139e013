#!/usr/bin/env python3
"""Make a throwaway CA and one certificate signed by it, for a test or private DIAL-Flow cluster.

    python cluster/make-tls.py tls/                        # 127.0.0.1 and localhost
    python cluster/make-tls.py tls/ 10.0.0.5 node1.lan    # the hosts the cluster runs on

Writes ca.pem (the CA certificate), cert.pem and key.pem (one certificate and its key, used by the
scheduler, every worker and every client: Dask's TLS needs both ends to present a certificate
signed by the CA). The CA's own key is never written: nobody can sign another certificate for
this cluster, and rerunning the script makes a new CA that every node must then be given.
key.pem is created readable by its owner only (0600), before any key byte is written.

For a production cluster, use certificates from your organisation's CA instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import secrets
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("127.0.0.1", "localhost")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DIAL-Flow test cluster"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _subject_alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    """IP literals become IP SANs (TLS clients match IPs only against those), the rest DNS SANs."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def make_tls(folder: Path, hosts: list[str], days: int = 365) -> tuple[Path, Path, Path]:
    """Write ca.pem, cert.pem and key.pem into `folder` and return their paths."""
    now = dt.datetime.now(dt.timezone.utc)
    not_before, not_after = now - dt.timedelta(minutes=5), now + dt.timedelta(days=days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    # A name of its own: two test CAs of one name make TLS errors talk of the wrong one.
    ca_name = _name(f"DIAL-Flow test CA {secrets.token_hex(4)}")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(_subject_alt_names(hosts)), critical=False)
        # One certificate for every role: the scheduler and workers serve, and all of them dial.
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    folder.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(key_file, key_bytes)
    return ca_file, cert_file, key_file


def _write_private(path: Path, data: bytes) -> None:
    """Create the file as 0600 so the key is never readable by others, even for a moment."""
    path.unlink(missing_ok=True)  # O_CREAT keeps an existing file's (maybe wider) mode
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)  # exactly owner read-write, whatever the umask


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, write the files and say where they are."""
    parser = argparse.ArgumentParser(
        description="Make a test CA and a certificate + key signed by it for a Dask cluster.",
    )
    parser.add_argument("folder", type=Path, help="where to write ca.pem, cert.pem and key.pem")
    parser.add_argument(
        "hosts",
        nargs="*",
        default=list(DEFAULT_HOSTS),
        help="hostnames and IPs the certificate is for (default: 127.0.0.1 localhost)",
    )
    parser.add_argument("--days", type=int, default=365, help="validity in days (default 365)")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    try:
        ca_file, cert_file, key_file = make_tls(args.folder, args.hosts, args.days)
    except OSError as exc:
        print(f"make-tls: cannot write into {args.folder}: {exc}", file=sys.stderr)
        return 1
    print(f"CA certificate: {ca_file}")
    print(f"certificate:    {cert_file} (for {', '.join(args.hosts)})")
    print(f"key:            {key_file} (mode 0600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
