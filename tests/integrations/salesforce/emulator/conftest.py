"""Makes the emulator fixtures available here even before tests/conftest.py star-imports
them; once it does, its definitions are used and no second server is started."""

import importlib

if not hasattr(importlib.import_module("tests.conftest"), "sf_emulator_server"):
    from tests.fixtures_emulator import *  # noqa: F403
