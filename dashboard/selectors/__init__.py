"""Reads shaped for pages and the API: each returns a queryset or value in a constant number of
queries, whatever the number of rows."""
