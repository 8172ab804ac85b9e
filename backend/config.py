"""Settings from the environment or a `.env` file (pydantic-settings).

Built in entry points and passed down; never a module-level singleton.
"""

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DATA = Path(__file__).parent / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    bot_webhook_secret: SecretStr | None = None  # required by `python -m bot webhook`
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///./data/zongzhitong.db"
    redis_url: str | None = None
    tz: str = "Asia/Shanghai"
    county_data: Path = PACKAGE_DATA / "county.yaml"
    case_code_prefix: str = "MD"
    default_language: str = "zh"
    digest_hour: int = 8
    notifier_in_process: bool = True  # False when `python -m bot notifier` runs separately
    web_base_url: str = "http://127.0.0.1:8080"
    web_secret_key: SecretStr = SecretStr("change-me-in-production")
    web_login_ttl_minutes: int = 10
    web_session_hours: int = 8
    open311_api_keys: str = ""
    upload_dir: Path = Path("./data/uploads")  # residents' web photos, one folder per case
    bot_username: str = "zongzhitong_bot"

    @property
    def embedded(self) -> bool:
        """True when running on the embedded defaults (SQLite, no Redis)."""
        return self.database_url.startswith("sqlite") and not self.redis_url
