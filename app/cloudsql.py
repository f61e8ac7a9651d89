"""Cloud SQL through the Cloud SQL Python connector (APP_DATABASE_INSTANCE): the connector fetches
an ephemeral client certificate from the Cloud SQL Admin API for every connection (the instance
requires one: sslMode TRUSTED_CLIENT_CERTIFICATE_REQUIRED) and, with APP_DATABASE_IAM_AUTH=true,
signs in as the service's own identity (an IAM database user: no password anywhere).

asyncpg gets a ``connect`` callable that opens each pooled connection through the connector over
the instance's private IP. The connector is made on first use, inside the running event loop,
and the package is imported only when this is configured.
"""

from typing import Any
from urllib.parse import unquote, urlsplit

from app.settings import Settings, SettingsError


class CloudSqlConnect:
    """asyncpg's ``connect`` for a pool: every new connection goes through the Cloud SQL connector."""

    def __init__(self, instance: str, user: str, database: str, iam_auth: bool, **connector_options: Any) -> None:
        self.instance, self.user, self.database, self.iam_auth = instance, user, database, iam_auth
        self._options = connector_options  # e.g. sqladmin_api_endpoint, credentials (tests, private endpoints)
        self._connector: Any = None

    async def __call__(self, *_dsn: Any, loop: Any = None, **kwargs: Any) -> Any:
        from google.cloud.sql.connector import IPTypes, create_async_connector

        if self._connector is None:
            self._connector = await create_async_connector(
                ip_type=IPTypes.PRIVATE, enable_iam_auth=self.iam_auth, **self._options
            )
        return await self._connector.connect_async(self.instance, "asyncpg", user=self.user, db=self.database, **kwargs)

    async def close(self) -> None:
        if self._connector is not None:
            await self._connector.close_async()
            self._connector = None


def cloudsql_connect_args(settings: Settings, **connector_options: Any) -> dict[str, Any]:
    """asyncpg pool arguments for APP_DATABASE_INSTANCE (user and database from APP_DATABASE_URL)."""
    if settings.database_url is None or settings.database_instance is None:
        raise SettingsError("APP_DATABASE_INSTANCE needs APP_DATABASE_URL (postgresql://USER@/DATABASE)")
    parts = urlsplit(settings.database_url.get_secret_value())
    connect = CloudSqlConnect(
        settings.database_instance,
        unquote(parts.username or ""),
        parts.path.lstrip("/"),
        settings.database_iam_auth,
        **connector_options,
    )
    return {"connect": connect}
