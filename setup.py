"""Build hook (everything else is in pyproject.toml): a wheel carries the committed results.

A notebook opened alone (Colab, Kaggle) has no checkout around it, yet chapters 03-09 read the numbers that
the long commands wrote into ``results/*.json``. So a built wheel holds a copy of them in
``hope_lite/lessons/committed/``, where :func:`hope_lite.lessons.results.find_in_repository` looks when no
checkout has the file. An editable install reads ``results/`` of the checkout itself and copies nothing.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESULTS = Path(__file__).resolve().parent / "results"


class BuildWithCommittedResults(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "hope_lite" / "lessons" / "committed"
        if target.exists():                          # a reused build folder: no copy of a removed results file
            shutil.rmtree(target)
        self.mkpath(str(target))
        for source in sorted(RESULTS.glob("*.json")):
            self.copy_file(str(source), str(target / source.name))


setup(cmdclass={"build_py": BuildWithCommittedResults})
