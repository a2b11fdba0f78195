"""The HTTP adapter: FastAPI app, auth, problem+json errors, routes and I/O schemas."""
