"""The live endpoint (``/api/v1/stream/<id>/live/``): :mod:`.hub`, the per-process poller that
reads each followed query once per interval and hands the events to every subscriber, and
:mod:`.view`, the endpoint's parameters and its ``StreamingHttpResponse`` of Server-Sent
Events."""
