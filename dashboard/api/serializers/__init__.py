"""Request and response shapes of the SWR API, one module per domain; drf-spectacular reads them
for the OpenAPI document, so they describe exactly what the views accept and answer."""
