"""Detection: Sigma rules compiled once, evaluated as SQL over normalized events."""
