"""The certctl agent: a separate process that keeps keys on its host, deploys and discovers (C7, C8)."""
