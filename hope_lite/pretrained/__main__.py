"""python -m hope_lite.pretrained RUN: see hope_lite.pretrained."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
