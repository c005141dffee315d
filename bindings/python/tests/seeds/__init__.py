"""The seed documents' examples, run with only the import line changed."""
