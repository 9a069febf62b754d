"""The connector of each platform, and the one way to build one for a channel."""

from .base import Connector
from .medusa import MedusaBetaConnector, MedusaConnector
from .sandbox_3pl import Sandbox3PLBetaConnector, Sandbox3PLConnector
from .sandbox_marketplace import SandboxMarketplaceBetaConnector, SandboxMarketplaceConnector
from .tryton import TrytonConnector

CONNECTORS: dict[str, type[Connector]] = {
    cls.platform.key: cls
    for cls in (
        SandboxMarketplaceConnector,
        SandboxMarketplaceBetaConnector,
        Sandbox3PLConnector,
        Sandbox3PLBetaConnector,
        TrytonConnector,
        MedusaConnector,
        MedusaBetaConnector,
    )
}


def connector_class(platform: str) -> type[Connector]:
    return CONNECTORS[platform]


def connector_for(channel, http=None) -> Connector:
    """The channel's connector with its decrypted credentials; `http` replaces the client."""
    cls = connector_class(channel.platform)
    credentials = channel.credentials
    return cls(credentials, http or cls.http_client(credentials))
