"""Entry point of the bundle's console executable (``gptstudio``): the same CLI as ``pip install``."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from gptstudio.cli import main

    sys.exit(main())
