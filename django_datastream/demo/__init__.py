"""Dummy data and the demo page: the pieces behind ``dummystream`` and ``datastream_demo``.

* :mod:`.streamtypes` parses ``--types`` and makes random values;
* :mod:`.timespan` parses ``--span`` and ``--until``;
* :mod:`.generator` creates the streams, back-fills history and appends in real time;
* :mod:`.progress` draws a text progress bar;
* :mod:`.runner` is what the management commands share (output, errors, Ctrl-C);
* :mod:`.server` serves the project from a threaded WSGI server;
* :mod:`.views` renders the interactive page (plotly.js comes through
  :mod:`django_datastream.staticfinders`).
"""
