"""The service layer: writes, permission checks and orchestration for views, API and tasks."""
