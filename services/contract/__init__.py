"""The wire contract: Avro schemas, single-object codec, Kafka headers and identifiers."""
