"""The fault-injection suite: scripted faults through the whole axis, and an audit of it all."""
