"""API views, one module per SWR domain."""
