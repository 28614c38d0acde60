"""goldmine."""
