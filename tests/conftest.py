"""Test configuration: fixtures live in tests/plugins, one module per area."""

pytest_plugins = [
    "plugins.backends",
    "plugins.mongo_server",
    "plugins.django_api",
    "plugins.demo",
]
