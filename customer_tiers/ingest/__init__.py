"""Source readers, encoding detection and the demo-data generator."""
