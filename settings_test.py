import pytest
from pydantic import ValidationError

from settings import Settings


def test_defaults_mean_embedded_database(monkeypatch):
    for name in ("DATABASE_URL", "PORT", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)

    assert settings.database_url == ""
    assert settings.port == 8000
    assert settings.log_level == "INFO"


def test_environment_overrides_env_file(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=postgresql://from-file/db\nPORT=9000\n")
    monkeypatch.setenv("PORT", "9100")
    monkeypatch.delenv("DATABASE_URL", raising=False)

    settings = Settings(_env_file=env_file)

    assert settings.database_url == "postgresql://from-file/db"
    assert settings.port == 9100


@pytest.mark.parametrize(
    "bad",
    [
        {"pool_min_size": 5, "pool_max_size": 2},
        {"log_level": "LOUD"},
        {"port": 0},
        {"pool_max_size": 0},
        {"metrics_port": 8000},
        {"metrics_port": 70000},
        {"log_format": "xml"},
        {"speed_tricks_off": "held_response,warp_drive"},
        {"cors_allow_origins": "https://ok.example, not-an-origin"},
        {"cors_allow_origins": "https://example.com/path"},
    ],
)
def test_invalid_settings_are_rejected(bad):
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **bad)


def test_env_example_lists_every_setting():
    from settings import PROJECT_ROOT

    listed = {
        line.split("=", 1)[0].lstrip("# ").lower()
        for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("# ")
    }
    assert listed == set(Settings.model_fields)


def test_speed_tricks_are_on_unless_named_off():
    settings = Settings(_env_file=None, speed_tricks_off=" log_batching , held_response")

    assert not settings.trick("log_batching") and not settings.trick("held_response")
    assert settings.trick("direct_futures")
    assert Settings(_env_file=None).trick("held_response")
