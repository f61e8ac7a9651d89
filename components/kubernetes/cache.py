"""Cache (Kubernetes): Redis as a StatefulSet, TLS only, AUTH from a Secret, data on a volume.

The app's limits, sessions, jobs and the job queue (a Redis Stream) live here, so Redis never
evicts (``noeviction``) and appends every write (AOF). TLS only (``port 0``): the server
certificate comes from the namespace's private CA (SecretStore), and the app verifies it with
the CA's ``ca.crt``. The AUTH token is in a Secret (the config file), never in the pod spec.

With ``replicas`` 2 or more, pod ``primary`` (0 by default) is the primary and the others
replicate it (warm standbys); the client Service selects that pod only. Failover is manual and
declarative: set the new primary's ordinal (``kubernetes.redisPrimary``) and ``pulumi up``. The
StatefulSet restarts from the highest ordinal, so the standby comes back as primary with its
replicated data before the old primary restarts as its replica (a full resync drops whatever
the old primary held that never replicated). Automatic failover needs Sentinel or an operator,
outside this block.
Nothing but ``allow_from`` pods reaches it (NetworkPolicy).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.kubernetes.objects import meta
from components.kubernetes.stateful import StatefulStore, StoreArgs

PORT = 6379
CA_FILE = "ca.crt"


@dataclass(kw_only=True)
class CacheArgs(StoreArgs):
    auth_token: pulumi.Input[str]
    """Redis's AUTH token (a secret: at least 16 printable characters, no spaces or quotes)."""
    auth_token_key: str
    """The SecretStore key holding the token (the readiness probe reads it from there; checked
    against the store's keys when ``secret_store`` is given)."""
    secret_name: pulumi.Input[str] | None = None
    """Without ``secret_store``: the name of its Secret holding ``auth_token_key`` (the
    ``KubernetesSecretStore`` facade's ``secretName`` output)."""


class Cache(StatefulStore):
    """Redis (child keys: ``config`` and StatefulStore's)."""

    port = PORT
    component = "redis"

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.secret_store is None and (args.secret_name is None or args.secret_name == ""):
            raise ValueError(
                "CacheArgs.secret_name: required without secret_store (the Secret holding auth_token_key: the "
                "KubernetesSecretStore's secretName output)"
            )
        super().__init__("ai-platform:kubernetes:Cache", name, args, opts, "CacheArgs", args.secret_name)
        from pulumi_kubernetes.core.v1 import (
            EnvVarArgs,
            ExecActionArgs,
            ProbeArgs,
            Secret,
            SecretInitArgs,
            SecretVolumeSourceArgs,
            TCPSocketActionArgs,
            VolumeArgs,
            VolumeMountArgs,
        )

        token = pulumi.Output.from_input(args.auth_token).apply(_checked_token)
        config = pulumi.Output.format(
            "port 0\ntls-port {0}\ntls-cert-file /tls/tls.crt\ntls-key-file /tls/tls.key\n"
            "tls-ca-cert-file /tls/{1}\ntls-auth-clients no\ntls-replication yes\n"
            'requirepass "{2}"\nmasterauth "{2}"\ndir /data\nappendonly yes\nmaxmemory {3}mb\n'
            "maxmemory-policy noeviction\nprotected-mode yes\n",
            PORT,
            CA_FILE,
            token,
            int(args.memory_mib * 0.8),
        )
        config_secret = self.child(
            "config",
            Secret,
            SecretInitArgs(
                metadata=meta(f"{name}-config", args.namespace),
                type="Opaque",
                string_data={"redis.conf": pulumi.Output.secret(config)},
            ),
            stateful=True,
        )
        start = (
            f'if [ "${{HOSTNAME##*-}}" = {self.primary} ]; then exec redis-server /etc/redis/redis.conf; fi; '
            f"exec redis-server /etc/redis/redis.conf --replicaof {self.primary_host} {PORT}"
        )
        ping = ["redis-cli", "--tls", "--cacert", f"/tls/{CA_FILE}", "-p", str(PORT), "ping"]
        self.stateful_set = self._stateful_set(
            args,
            {
                "command": ["sh", "-c", start],
                "env": [EnvVarArgs(name="REDISCLI_AUTH", value_from=self.secrets.reference(args.auth_token_key))],
                "startup_probe": ProbeArgs(
                    tcp_socket=TCPSocketActionArgs(port=PORT), period_seconds=5, failure_threshold=60
                ),
                "liveness_probe": ProbeArgs(tcp_socket=TCPSocketActionArgs(port=PORT), period_seconds=10),
                "readiness_probe": ProbeArgs(exec_=ExecActionArgs(command=ping), period_seconds=10, timeout_seconds=5),
                "volume_mounts": [VolumeMountArgs(name="config", mount_path="/etc/redis", read_only=True)],
            },
            [
                VolumeArgs(
                    name="config", secret=SecretVolumeSourceArgs(secret_name=f"{name}-config", default_mode=0o440)
                )
            ],
            [config_secret],
            "/data",
        )
        self.register_outputs({"host": self.host, "port": self.port})


def _checked_token(token: str) -> str:
    """The AUTH token goes into redis.conf in quotes: refuse what would break out of them."""
    if len(token) < 16 or any(c in token for c in "\"\\'") or any(c.isspace() or not c.isprintable() for c in token):
        raise ValueError(
            "CacheArgs.auth_token: must be at least 16 printable characters without spaces, quotes or "
            "backslashes (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return token
