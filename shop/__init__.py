"""Booths, catalogue, buyer browsing, orders and traceability labels."""
