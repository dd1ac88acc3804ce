"""HTTP plumbing of the API: responses and errors, caching validators, format negotiation."""
