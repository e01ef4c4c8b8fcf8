"""Everything Berth says to the distribution registry: HTTP client, tokens, manifests, config.

Nothing here touches the ORM; only Django settings are read.
"""
