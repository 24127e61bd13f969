"""Views of the eforms app: the client's pages (`portal`)."""
