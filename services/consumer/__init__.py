"""Consumer service: exactly-once persistence of delivered events into SQLite or PostgreSQL."""
