"""The query-string parameters of the API: their names, short aliases and parsers."""
