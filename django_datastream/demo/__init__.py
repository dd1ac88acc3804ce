"""The opt-in demo sub-app: ``INSTALLED_APPS += ["django_datastream.demo"]``.

It brings the ``datastream_demo`` management command and the interactive page (:mod:`.urls`,
:mod:`.views`, its template and static JavaScript), with what they need:

* :mod:`.signals` makes realistic demo signals (daily cycles, gaps, spikes);
* :mod:`.server` serves the project from a threaded WSGI server.

``dummystream`` is a command of ``django_datastream`` itself (as in the original), and the
dummy-stream code ``datastream_demo`` shares with it lives in :mod:`django_datastream.management`
(:mod:`.streamtypes`, :mod:`.timespan` and :mod:`.generator` here only re-export it).

plotly.js comes from the installed ``plotly`` package through
:class:`django_datastream.demo.staticfinders.PlotlyFinder`. A project that lists only
``django_datastream`` gets the API and the ``downsample`` and ``dummystream`` commands, nothing
of this.
"""
