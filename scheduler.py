"""The unattended daemon: ``python scheduler.py [--config FILE]`` = ``scamradar schedule``.

Thin by design: the logic lives in :mod:`crawler.scheduling`.
"""

import sys

from crawler.cli import main

if __name__ == "__main__":
    main(["schedule", *sys.argv[1:]])
