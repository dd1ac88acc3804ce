"""The management commands of django_datastream and what they share.

* ``commands/downsample.py`` and ``commands/dummystream.py``: the original's two commands,
  part of the app itself (a project needs neither the demo sub-app nor plotly for them);
* :mod:`.support`: the configured datastream, ISO 8601 times, counts, the progress bar;
* :mod:`.streamtypes` parses ``dummystream --types`` and makes random values;
* :mod:`.timespan` parses ``--span``;
* :mod:`.generator` creates dummy streams, back-fills history and appends in real time;
* :mod:`.runner` is what ``dummystream`` and the demo's ``datastream_demo`` share (output,
  errors, Ctrl-C).
"""
