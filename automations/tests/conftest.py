from datetime import UTC, datetime

import pytest

from channels.testing import *  # noqa: F403 - the shared sandbox fixtures


@pytest.fixture
def beta_channel(world):
    from channels import services

    return services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Beta Shop",
        platform="sandbox_marketplace_beta",
        credentials={"api_key": "k"},
    )


@pytest.fixture
def stable_channels(world):
    from channels import services

    return [
        services.create_channel(
            None, world.acme_us, kind="sales", name=f"Shop {n}", platform="sandbox_marketplace", credentials={"api_key": "k"}
        )
        for n in (1, 2)
    ]


@pytest.fixture
def t0():
    """A fixed 'now' (a Tuesday noon UTC; 08:00 in New York)."""
    return datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
