"""The revisions of the consumer's store schema, oldest first by `down_revision`."""
