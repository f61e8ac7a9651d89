"""RDS / Aurora IAM database authentication: every new connection signs in with a fresh auth token.

A token is a SigV4-presigned `connect` request made by botocore's RDS signer from the task's
credentials (the ECS task role, or any other source of botocore's default chain). It is valid
for 15 minutes and is needed only while a connection is being opened, so asyncpg gets a password
callable and asks it once per new connection. botocore is imported only when this is configured.
"""

import asyncio
from typing import Any

from app.settings import Settings, SettingsError, parse_iam_database_url


class DatabaseAuthError(RuntimeError):
    """No auth token could be made (typically: no AWS credentials reachable)."""


class RdsAuthTokens:
    """A password callable for asyncpg: `await tokens()` is a fresh token for user@host:port in region."""

    def __init__(self, host: str, port: int, user: str, region: str) -> None:
        import botocore.session
        from botocore.exceptions import BotoCoreError

        self.host, self.port, self.user, self.region = host, port, user, region
        self._errors = BotoCoreError
        try:
            self._client: Any = botocore.session.get_session().create_client("rds", region_name=region)
        except (BotoCoreError, ValueError) as exc:  # e.g. InvalidRegionError
            raise SettingsError(f"APP_DATABASE_REGION / AWS_REGION ({region!r}): {exc}") from None

    def token(self) -> str:
        try:
            return self._client.generate_db_auth_token(
                DBHostname=self.host, Port=self.port, DBUsername=self.user, Region=self.region
            )
        except self._errors as exc:
            raise DatabaseAuthError(
                f"APP_DATABASE_IAM_AUTH: cannot make an RDS auth token for {self.user}@{self.host}:{self.port} "
                f"in {self.region}: {exc}"
            ) from exc

    async def __call__(self) -> str:
        # signing is local, but refreshing expiring credentials (ECS task role) is a blocking HTTP call
        return await asyncio.to_thread(self.token)


def iam_connect_args(settings: Settings) -> dict[str, Any]:
    """asyncpg arguments for APP_DATABASE_IAM_AUTH: the token callable, and TLS when the URL names no sslmode."""
    if settings.database_url is None or settings.database_aws_region is None:
        raise SettingsError("APP_DATABASE_IAM_AUTH=true needs APP_DATABASE_URL and APP_DATABASE_REGION or AWS_REGION")
    endpoint = parse_iam_database_url(settings.database_url.get_secret_value())
    args: dict[str, Any] = {
        "password": RdsAuthTokens(endpoint.host, endpoint.port, endpoint.user, settings.database_aws_region)
    }
    if endpoint.sslmode is None:
        args["ssl"] = "require"  # encrypted; verify-full also needs the RDS CA bundle (sslrootcert=...)
    return args
