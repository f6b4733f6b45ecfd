"""The platform's capabilities; ``app.py`` only wires Chalice handlers to these modules."""
