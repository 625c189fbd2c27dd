"""Community models through spandrel: safe reading, architecture detection and the engines.

``read_state_dict`` reads a weight file without running code from it, ``detect`` says what the
weights are, ``engine_info`` describes an installed model without loading it, and ``load_engine``
returns a ready restoration, upscale or inpaint engine whose descriptor comes from the loaded model.
torch and spandrel are imported only when this package is.
"""

from gptstudio.engines.spandrel.detect import Detected, detect, engine_info
from gptstudio.engines.spandrel.engine import load_engine
from gptstudio.engines.spandrel.io import read_state_dict

__all__ = ["Detected", "detect", "engine_info", "load_engine", "read_state_dict"]
