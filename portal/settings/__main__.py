"""``python -m portal.settings``: rewrite the README's configuration table from the
declarations (``--print`` shows it instead)."""
from __future__ import annotations

import sys

from portal.settings import readme

if __name__ == "__main__":
    if "--print" in sys.argv[1:]:
        print(readme.table())
    else:
        changed = readme.write()
        print(f"{readme.README.name}: {'table rewritten' if changed else 'already current'}")
