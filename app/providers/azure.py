"""Azure OpenAI: deployment URLs, and an API key or Microsoft Entra ID tokens (managed identity)."""

import time
from typing import Any

import aiohttp
import anyio

from app.providers.base import ProviderError
from app.providers.openai import OpenAIProvider

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"


class EntraTokenSource:
    """Caches an Entra ID access token from azure-identity and refreshes it 5 minutes early.

    azure-identity's sync credential runs in a worker thread so the event loop never blocks;
    ManagedIdentityCredential covers AKS workload identity, Container Apps and VMs.
    """

    def __init__(self, client_id: str | None) -> None:
        from azure.identity import ManagedIdentityCredential  # imported only when Entra is used

        self._credential: Any = ManagedIdentityCredential(client_id=client_id)
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock = anyio.Lock()

    async def get(self) -> str:
        if self._token and time.time() < self._expires_on - 300:
            return self._token
        async with self._lock:
            if self._token and time.time() < self._expires_on - 300:
                return self._token
            access = await anyio.to_thread.run_sync(self._credential.get_token, ENTRA_SCOPE)
            self._token, self._expires_on = access.token, float(access.expires_on)
            return access.token


class AzureOpenAIProvider(OpenAIProvider):
    kind = "azure_openai"

    def __init__(
        self,
        name: str,
        client: aiohttp.ClientSession,
        endpoint: str,
        api_version: str,
        api_key: str | None,
        entra: EntraTokenSource | None,
    ) -> None:
        super().__init__(name, client, endpoint, api_key)
        self.api_version = api_version
        self.entra = entra

    def usable(self) -> str | None:
        if not self.api_key and self.entra is None:
            return "neither an API key nor Entra ID is configured"
        return None

    async def auth_headers(self) -> dict[str, str]:
        if self.entra is not None:
            try:
                return {"authorization": f"Bearer {await self.entra.get()}"}
            except Exception as exc:  # azure-identity raises several unrelated types
                raise ProviderError(self.name, "auth", f"Entra ID token: {exc}", retryable=False) from exc
        return {"api-key": self.api_key or ""}

    def url(self, model: str, operation: str = "chat/completions") -> str:
        return f"{self.base_url}/openai/deployments/{model}/{operation}?api-version={self.api_version}"

    def body_model(self, model: str) -> str | None:
        return None
