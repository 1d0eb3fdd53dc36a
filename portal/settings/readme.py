"""The README's configuration table, rendered from the declarations in ``portal.settings``
(``python -m portal.settings`` rewrites it in place)."""
from __future__ import annotations

from pathlib import Path

from portal.settings import AREAS
from portal.settings.declare import PROJECT_ROOT, Setting

README = PROJECT_ROOT / "README.md"
BEGIN = "<!-- settings: written by `python -m portal.settings` from portal/settings/ -->"
END = "<!-- end of settings -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(setting: Setting) -> str:
    if setting.shown:
        return setting.shown
    return f"`{setting.default}`" if setting.default else "empty"


def _meaning(setting: Setting) -> str:
    return f"{setting.help}; read by {setting.reader}" if setting.reader else setting.help


def table() -> str:
    """Return the configuration tables, one per area, as Markdown."""
    lines = []
    for area in AREAS:
        lines += ["", f"**{area.title}**: {area.about}.", "",
                  "| key | default | type | meaning |", "|---|---|---|---|"]
        lines += [f"| `{setting.key}` | {_cell(_default(setting))} | {setting.type.name} "
                  f"| {_cell(_meaning(setting))} |" for setting in area.settings]
    return "\n".join(lines[1:])


def section(text: str) -> str:
    """Return the part of ``text`` between the markers (the table as the README has it).

    :raises ValueError: the markers are missing.
    """
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n")


def write(path: Path = README) -> bool:
    """Write the table between the markers of ``path``; return whether it changed."""
    text = path.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    updated = f"{text[:start]}\n{table()}\n{text[end:]}"
    path.write_text(updated)
    return updated != text
