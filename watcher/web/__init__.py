"""FastAPI web app: public archive, subscriber self-service, feeds and the admin console."""
