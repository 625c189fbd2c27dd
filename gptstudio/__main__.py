"""``python -m gptstudio`` opens the editor, like a double-click; with arguments it is the CLI."""

import sys

from gptstudio.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["gui"]))
