"""Prints the settings table for the README (`python -m watcher.settings_doc`).

The README's configuration table is generated from the Settings class, and a test checks every
setting is documented there, so the two never drift apart.
"""

from __future__ import annotations

from watcher.settings import PROJECT_ROOT, Settings


def _default(value: object) -> str:
    text = str(value)
    if text.startswith(str(PROJECT_ROOT)):
        text = text.replace(str(PROJECT_ROOT) + "/", "")
    return f"`{text}`" if text else "(empty)"


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `WATCHER_{name.upper()}` | {_default(field.default)} | {description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
