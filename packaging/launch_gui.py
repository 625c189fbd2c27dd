"""Entry point of the bundle's windowed executable (``gptstudio-gui``): the editor, no terminal.

A file of its own because PyInstaller wants a script, not a ``module:function`` reference; it
does exactly what the pip-installed ``gptstudio-gui`` launcher does.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    # A frozen program that starts a child Python process must let the child run its own job.
    multiprocessing.freeze_support()
    from gptstudio.app import launch

    sys.exit(launch())
