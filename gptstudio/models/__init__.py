"""What models exist, where they live on disk, and ``load(model_id) -> Engine``."""
