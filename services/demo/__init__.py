"""`lienthong demo`: the whole axis on one machine, with a story and a summary."""
