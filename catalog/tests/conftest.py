from channels.testing import *  # noqa: F403 - the shared sandbox fixtures
