"""Fixtures for the mongo_server tests."""
