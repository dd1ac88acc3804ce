"""The opt-in demo sub-app: ``INSTALLED_APPS += ["django_datastream.demo"]``.

It brings the ``dummystream`` and ``datastream_demo`` management commands, the interactive
page (:mod:`.urls`, :mod:`.views`, its template and static JavaScript) and what they need:

* :mod:`.streamtypes` parses ``--types`` and makes random values;
* :mod:`.timespan` parses ``--span``;
* :mod:`.generator` creates the streams, back-fills history and appends in real time;
* :mod:`.runner` is what the demo commands share (output, errors, Ctrl-C);
* :mod:`.server` serves the project from a threaded WSGI server.

plotly.js comes from the installed ``plotly`` package through
:class:`django_datastream.staticfinders.PlotlyFinder`. A project that lists only
``django_datastream`` gets the API and the ``downsample`` command, nothing of this.
"""
