"""Qt-free, model-free helpers: image I/O, masks, tiling, devices, progress, errors."""
