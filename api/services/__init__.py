"""Service functions shared by the JSON API and the web UI."""
