"""The detail pipeline: one stream and a page (or a streamed export) of its datapoints."""
