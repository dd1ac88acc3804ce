"""The formats answers are written in (JSON, JSONP, XML, CSV, NDJSON, the columns shape)."""
