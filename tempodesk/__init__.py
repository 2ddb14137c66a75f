"""Tempodesk wiring: settings, the embedded stack and the `tempodesk` command."""
