"""What several test modules build their cases from: documents, a CLI run, model files."""
