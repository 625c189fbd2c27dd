"""GPT Studio: a desktop image editor built around generative pretrained Transformers.

The engine (everything but :mod:`gptstudio.app`) is Qt-free and runs headless, so the same
code serves the GUI, the command line and the tests.
"""

__version__ = "0.1.0"
