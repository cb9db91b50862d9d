"""The HTTP ingestion API: FastAPI routes over the ingest core."""
