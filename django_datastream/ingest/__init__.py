"""Writes over HTTP: datapoints as JSON, NDJSON, CSV or columns, and InfluxDB line protocol.

Off by default. One module per job:

* :mod:`.body` reads a request body within the size limits (gzip included);
* :mod:`.bodies` turns JSON, NDJSON, CSV and columns bodies into datapoints;
* :mod:`.lineprotocol` parses InfluxDB line protocol;
* :mod:`.series` maps line protocol series to streams (created on first sight);
* :mod:`.access` decides whether a resource takes writes and presents InfluxDB credentials
  to its ``Meta.authentication``;
* :mod:`.resource` is the write half of :class:`~django_datastream.resources.StreamResource`:
  its URLs and views, through the resource's authentication, authorization and throttle.
"""
