"""python -m hope_lite.pretrained RUN: see hope_lite.pretrained."""

from . import main

raise SystemExit(main())
