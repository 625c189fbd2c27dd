"""Data files shipped inside the package: the model catalog, icons."""
