"""PAdES signing and validation of PDFs."""
