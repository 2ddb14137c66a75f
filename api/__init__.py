"""The FastAPI application: JSON API under /api/v1, auth, and the Temporal client."""
