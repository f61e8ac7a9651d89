"""VectorStore (Kubernetes): PostgreSQL with pgvector as a StatefulSet; the app signs in with a
client certificate, so no password exists anywhere.

TLS only for the network (``hostssl`` in pg_hba): the server certificate and the app's client
certificate (common name = the database user) both come from the namespace's private CA
(SecretStore). Only the app's user may connect over the network, only with its certificate
(``cert`` auth); the superuser has the pod's socket alone. An init script creates the user,
its database and the ``vector`` extension on first start.

One instance: streaming replication with failover needs an operator (e.g. CloudNativePG), so
prod stacks use a database outside this block (the spec says so at ``vectorStore.enabled``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.decisions import APP_DB_USER
from components.kubernetes.objects import meta
from components.kubernetes.secrets import CERT_MANAGER
from components.kubernetes.stateful import StatefulStore, StoreArgs

PORT = 5432
DATABASE = "ai"
_PG_HBA = (
    "# the superuser over the pod's own socket only (exec into the pod already reaches the data files);\n"
    "# the app's user over TLS with its certificate; nothing else\n"
    "local all postgres trust\n"
    f"hostssl {DATABASE} {APP_DB_USER} all cert\n"
)
_INIT = (
    f"CREATE ROLE {APP_DB_USER} LOGIN;\n"
    f"CREATE DATABASE {DATABASE} OWNER {APP_DB_USER};\n"
    f"\\connect {DATABASE}\n"
    "CREATE EXTENSION IF NOT EXISTS vector;\n"
)


@dataclass(kw_only=True)
class VectorStoreArgs(StoreArgs):
    memory_mib: int = 1024
    """Memory of the pod (request = limit), at least 128 MiB."""


class VectorStore(StatefulStore):
    """PostgreSQL + pgvector (child keys: ``config``, ``client-certificate`` and StatefulStore's)."""

    port = PORT
    component = "postgres"
    database: str
    """The app's database (with the ``vector`` extension)."""
    user: str
    """The database user the app signs in as, with its client certificate."""
    client_secret: str
    """The Secret of the app's client certificate (``tls.crt``, ``tls.key``, ``ca.crt``)."""

    def __init__(self, name: str, args: VectorStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.replicas != 1:
            raise ValueError(
                f"VectorStoreArgs.replicas {args.replicas}: this block runs one instance "
                "(replication needs an operator)"
            )
        super().__init__("ai-platform:kubernetes:VectorStore", name, args, opts, "VectorStoreArgs")
        from pulumi_kubernetes.core.v1 import (
            ConfigMap,
            ConfigMapInitArgs,
            ConfigMapVolumeSourceArgs,
            EmptyDirVolumeSourceArgs,
            EnvVarArgs,
            ExecActionArgs,
            KeyToPathArgs,
            ProbeArgs,
            TCPSocketActionArgs,
            VolumeArgs,
            VolumeMountArgs,
        )

        from components.kubernetes.objects import custom_resource

        self.database = DATABASE
        self.user = APP_DB_USER
        self.client_secret = f"{name}-client"
        config = self.child(
            "config",
            ConfigMap,
            ConfigMapInitArgs(
                metadata=meta(f"{name}-config", args.namespace),
                data={"pg_hba.conf": _PG_HBA, "init.sql": _INIT},
            ),
        )
        self.client_certificate = self.child(
            "client-certificate",
            custom_resource(CERT_MANAGER, "Certificate"),
            {
                "metadata": meta(self.client_secret, args.namespace, args.tags),
                "spec": {
                    "secretName": self.client_secret,
                    "commonName": APP_DB_USER,
                    "duration": "2160h",
                    "renewBefore": "720h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                    "usages": ["client auth", "digital signature", "key encipherment"],
                    "issuerRef": {"name": self.secrets.issuer_name, "kind": "Issuer", "group": "cert-manager.io"},
                },
            },
            self.secrets.after_issuer(),
        )
        settings = {
            "ssl": "on",
            "ssl_cert_file": "/tls/tls.crt",
            "ssl_key_file": "/tls/tls.key",
            "ssl_ca_file": "/tls/ca.crt",
            "ssl_min_protocol_version": "TLSv1.2",
            "hba_file": "/etc/postgresql/pg_hba.conf",
            "listen_addresses": "*",
        }
        ready = ["pg_isready", "-h", "/var/run/postgresql", "-p", str(PORT), "-U", "postgres"]
        self.stateful_set = self._stateful_set(
            args,
            {
                "args": ["postgres", *(f"-c{k}={v}" for k, v in settings.items())],
                "env": [
                    EnvVarArgs(name="PGDATA", value="/var/lib/postgresql/data/pgdata"),
                    # the image refuses to initialise without a password unless told "trust"; that only
                    # writes the generated pg_hba.conf, which hba_file above replaces (never read)
                    EnvVarArgs(name="POSTGRES_HOST_AUTH_METHOD", value="trust"),
                    EnvVarArgs(name="POSTGRES_USER", value="postgres"),
                ],
                "startup_probe": ProbeArgs(exec_=ExecActionArgs(command=ready), period_seconds=5, failure_threshold=60),
                "liveness_probe": ProbeArgs(tcp_socket=TCPSocketActionArgs(port=PORT), period_seconds=10),
                "readiness_probe": ProbeArgs(exec_=ExecActionArgs(command=ready), period_seconds=10),
                "volume_mounts": [
                    VolumeMountArgs(name="config", mount_path="/etc/postgresql", read_only=True),
                    VolumeMountArgs(name="init", mount_path="/docker-entrypoint-initdb.d", read_only=True),
                    VolumeMountArgs(name="run", mount_path="/var/run/postgresql"),
                ],
            },
            [
                VolumeArgs(
                    name="config",
                    config_map=ConfigMapVolumeSourceArgs(
                        name=f"{name}-config",
                        items=[KeyToPathArgs(key="pg_hba.conf", path="pg_hba.conf")],
                    ),
                ),
                VolumeArgs(
                    name="init",
                    config_map=ConfigMapVolumeSourceArgs(
                        name=f"{name}-config", items=[KeyToPathArgs(key="init.sql", path="init.sql")]
                    ),
                ),
                VolumeArgs(name="run", empty_dir=EmptyDirVolumeSourceArgs(size_limit="16Mi")),
            ],
            [config],
            "/var/lib/postgresql/data",
        )
        self.register_outputs({"host": self.host, "port": self.port, "database": self.database})
