"""Settings: environment names, parsing, and the README's table generated from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.config_table import markdown_table
from config.settings import Settings, environment_variables

ROOT = Path(__file__).resolve().parents[2]


def test_standard_names_are_read_for_temporal_and_stripe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_123")
    monkeypatch.setenv("TENURE_API_PORT", "9001")
    settings = Settings()
    assert settings.temporal_address == "temporal.internal:7233"
    assert settings.stripe_api_key is not None
    assert settings.stripe_api_key.get_secret_value() == "sk_test_123"
    assert settings.api_port == 9001


def test_every_setting_has_a_description_and_a_unique_variable() -> None:
    variables = environment_variables()
    assert len(set(variables.values())) == len(variables)
    for name in variables:
        assert Settings.model_fields[name].description, name


def test_readme_configuration_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, "regenerate with `uv run tenure config --markdown`"


def test_bad_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENURE_API_PORT", "not-a-port")
    with pytest.raises(ValueError, match="api_port"):
        Settings()
