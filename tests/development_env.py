"""The test run's environment, set before anything reads the settings: DEBUG on, as
`make run` has it (the development key, static files without a manifest, no HTTPS
redirect). Loaded by pytest.ini (`-p tests.development_env`) because pytest-django imports
oms.settings before any conftest.py runs. An explicit DEBUG in the environment wins."""

import os

os.environ.setdefault("DEBUG", "1")
