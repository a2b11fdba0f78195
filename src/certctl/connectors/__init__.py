"""Connectors to the outside world: notifiers now; issuers and targets later."""
