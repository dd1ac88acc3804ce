"""Dummy data and the demo page: the pieces behind ``dummystream`` and ``datastream_demo``.

* :mod:`.streamtypes` parses ``--types`` and makes random values;
* :mod:`.timespan` parses ``--span``;
* :mod:`.generator` creates the streams, back-fills history and appends in real time;
* :mod:`.progress` draws a text progress bar;
* :mod:`.server` serves the project from a threaded WSGI server;
* :mod:`.views` and :mod:`.staticfinders` serve the interactive page and plotly.js.
"""
