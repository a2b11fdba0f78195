"""The client CLI against the real app in process (ASGITransport) and a live server."""
