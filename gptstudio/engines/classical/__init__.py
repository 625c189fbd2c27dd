"""Classical OpenCV methods, always available and the reference the learned engines must beat."""
