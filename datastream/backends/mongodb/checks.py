"""Checking MongoDB connection settings: offline by pymongo's own parsing, or with a ping.

:func:`check_settings` is what ``Backend.check`` runs (``manage.py check`` calls it through the
Django app); :func:`redact` keeps passwords out of the messages of both the checks and
``Backend`` itself, since those messages may reach logs and HTTP clients.
"""

from __future__ import annotations

import re
import urllib.parse
import warnings
from collections.abc import Mapping
from typing import Any

import pymongo
from pymongo.common import validate
from pymongo.errors import ConfigurationError, ConnectionFailure, InvalidURI, PyMongoError

from .server import check_database_name

__all__ = ["CHECK_SERVER_SELECTION_TIMEOUT_MS", "check_settings", "redact"]

#: How long the connecting check waits for a server (``serverSelectionTimeoutMS`` of its
#: ping): long enough for a reachable server, short enough for ``manage.py check``.
CHECK_SERVER_SELECTION_TIMEOUT_MS = 2_000

_USERINFO = re.compile(r"://([^@/?#]*)@")


def _uris(settings: Mapping[str, Any]) -> list[str]:
    """The ``mongodb://`` / ``mongodb+srv://`` URIs among the ``host`` setting's values."""
    host = settings.get("host")
    hosts = [host] if isinstance(host, str) else host if isinstance(host, list | tuple) else []
    return [uri for uri in hosts if isinstance(uri, str) and "://" in uri]


def redact(text: str, settings: Mapping[str, Any]) -> str:
    """``text`` with the passwords of ``settings`` (``password``, and those written in
    ``host`` URIs, as written and decoded) replaced by ``***``."""
    secrets = set()
    password = settings.get("password")
    if isinstance(password, str) and password:
        secrets.add(password)
    for uri in _uris(settings):
        for userinfo in _USERINFO.findall(uri):
            _, colon, secret = userinfo.partition(":")
            if colon and secret:
                secrets |= {secret, urllib.parse.unquote_plus(secret)}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _uri_option_problems(uri: str) -> list[str]:
    """Options of ``uri`` that pymongo does not know or cannot use. (``MongoClient`` only
    warns about those and ignores them: ``?serverSelectionTimeout=5`` would be no timeout.)"""
    problems = []
    query = uri.partition("?")[2]
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                validate(name, value)
            except (ConfigurationError, TypeError, ValueError, OSError) as error:
                problems.append(f"MongoDB URI option {name!r}: {error}")
    return problems


def _hosts(client: pymongo.MongoClient) -> str:
    """The client's servers (its seeds before it connects), as ``host:port, …``."""
    servers = client.topology_description.server_descriptions()
    return ", ".join(sorted(f"{h}:{p}" if p else str(h) for h, p in servers)) or "?"


def _ping(client: pymongo.MongoClient) -> list[str]:
    hosts = _hosts(client)
    try:
        client.admin.command("ping")
    except ConnectionFailure as error:  # ServerSelectionTimeoutError among them
        detail = re.split(r", Timeout: | \(configured timeouts", str(error))[0]
        waited = CHECK_SERVER_SELECTION_TIMEOUT_MS / 1000
        return [f"MongoDB server {hosts} is unreachable (no answer within {waited:g} s): {detail}"]
    except PyMongoError as error:
        return [f"MongoDB server {hosts} refused the check's ping: {error}"]
    return []


def check_settings(
    database_name: Any, client_settings: Mapping[str, Any], connect: bool = False
) -> list[str]:
    """What is wrong with a backend on ``database_name`` whose ``pymongo.MongoClient`` is
    built with ``client_settings``: an empty list when nothing is.

    Without ``connect`` nothing touches the network: the database name, every option of the
    ``host`` URIs and the keyword arguments go through pymongo's own validation (a client is
    constructed with ``connect=False``). With ``connect`` the server is also pinged, waiting
    at most :data:`CHECK_SERVER_SELECTION_TIMEOUT_MS`.
    """
    problems = []
    try:
        check_database_name(database_name)
    except ValueError as error:
        problems.append(str(error))
    for uri in _uris(client_settings):
        problems += _uri_option_problems(uri)
    offline = {**client_settings, "connect": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what pymongo warns about is reported above
        try:
            pymongo.MongoClient(**offline).close()
        except (ConfigurationError, InvalidURI, TypeError, ValueError) as error:
            problems.append(f"Invalid MongoDB connection settings: {error}")
    if connect and not problems:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client: pymongo.MongoClient = pymongo.MongoClient(
                **{**offline, "serverSelectionTimeoutMS": CHECK_SERVER_SELECTION_TIMEOUT_MS}
            )
        try:
            problems += _ping(client)
        finally:
            client.close()
    return [redact(problem, client_settings) for problem in problems]
