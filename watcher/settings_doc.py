"""The README's settings table, generated from the Settings class.

`python -m watcher.settings_doc --write README.md` refreshes the table between its markers; a test
checks that every setting appears in the README, so documentation and code never drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

from watcher.settings import PROJECT_ROOT, Settings

START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"


def _default(value: object) -> str:
    text = str(value).replace(str(PROJECT_ROOT) + "/", "")
    return f"`{text}`" if text else "(empty)"


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `WATCHER_{name.upper()}` | {_default(default)} | {description} |")
    return "\n".join(rows)


def write_into(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{settings_table()}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write_into(Path(sys.argv[2]))
    else:
        print(settings_table())
