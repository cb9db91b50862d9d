"""The Avro contract as package data: avro/<version>/<Type>.avsc, every released version kept."""
