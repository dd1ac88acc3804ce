"""Fixtures for the django_api tests."""
