"""The networks and methods that do the work, one folder per family (after spandrel)."""
