"""The orders sample: orders, stock reservations and the process manager between them."""
