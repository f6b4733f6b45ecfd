"""``make bench``: the platform's hot paths measured next to physical limits and the systems users would
otherwise pick, in one run on one machine. Never packaged (``chalice deploy`` packages ``app.py`` and
``chalicelib/`` only); peer-only libraries come from ``requirements-bench.txt``."""
