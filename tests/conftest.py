"""Test configuration: fixtures live in tests/plugins, one module per area."""

import os

from django.conf import settings

# No background downsampling unless a test asks for it (tests/test_downsampling_worker.py):
# off in this process (the settings are loaded already) and in the servers tests start.
os.environ["DATASTREAM_DOWNSAMPLE_WORKER"] = "0"
settings.DATASTREAM_DOWNSAMPLE_WORKER = False

pytest_plugins = [
    "plugins.backends",
    "plugins.mongo_server",
    "plugins.django_api",
    "plugins.demo",
]
