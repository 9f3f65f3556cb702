"""The README documents every setting and keeps the two-command quick start."""

from __future__ import annotations

from watcher.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [name for name in Settings.model_fields if f"`WATCHER_{name.upper()}`" not in README]
    assert not missing, f"run `python -m watcher.settings_doc --write README.md`; missing: {missing}"


def test_quick_start_is_make_run_and_make_test() -> None:
    assert "make run" in README and "make test" in README
