"""Uploads, virus check, encrypted storage, previews, document requests."""
