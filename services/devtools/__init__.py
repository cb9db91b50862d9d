"""Local development and test tooling: a real broker from the checkout, free ports."""
