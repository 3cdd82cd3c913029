"""Performance alignment documents: the model built from the cycle (`model`) and its rendering (`render`)."""
