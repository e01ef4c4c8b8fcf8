"""The service layer: every write, permission check and orchestration; views, API and tasks call it."""
