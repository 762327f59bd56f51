"""Settings read from ``DATAPEDIA_*`` environment variables (DESIGN §4)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"


def _default_source_dir() -> Path:
    # The shared real data sits beside the checkout; a machine without it still serves the
    # authored catalogue (the seed reports what it could not find).
    return (PROJECT_ROOT.parent / "shared" / "data").resolve()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATAPEDIA_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'datapedia.sqlite3'}",
        description="SQLAlchemy URL; SQLite file by default, PostgreSQL in production.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public base URL used to mint URIs (no trailing slash).",
    )
    source_dir: Path = Field(
        default_factory=_default_source_dir,
        description="Directory with the real source files (geo/, values/, boundaries/).",
    )
    load_boundaries: bool = Field(
        default=True,
        description="Whether `datapedia seed` loads the boundary files in source_dir/boundaries/ "
        "(the test suite's seed leaves them out to stay fast).",
    )
    max_page_size: int = Field(default=1000, ge=1)
    max_upload_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=1,
        description="Largest accepted upload (413 above). Uploads are spooled to a temporary "
        "file as they arrive, so the limit is one of disk, not memory.",
    )
    feedback_per_minute: int = Field(
        default=30, ge=1, description="Feedback posts per API key per minute."
    )
    anonymous_feedback_per_minute: int = Field(
        default=5, ge=1, description="Feedback posts per client address per minute, without a key."
    )
    upload_idle_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Seconds an upload may send nothing before it is refused (408). While "
        "the body arrives the request holds no database connection.",
    )
    send_idle_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Seconds a client may take no byte of an answer (a download, an export) "
        "before it is cut off: a streamed answer holds a database connection and its "
        "snapshot until its last byte has been taken.",
    )
    submissions_per_minute: int = Field(
        default=30, ge=1, description="Submissions one API key may send per minute (429 above)."
    )
    default_page_size: int = Field(default=50, ge=1)
    workers: int = Field(
        default=1, ge=1, description="Worker processes 'datapedia serve' starts (--workers)."
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Database connections each server worker keeps open (10 more for a "
        "burst; PostgreSQL or a SQLite file); workers × (size + 10) must stay below "
        "PostgreSQL's max_connections.",
    )
    graceful_shutdown_seconds: int = Field(
        default=30,
        ge=0,
        le=3600,
        description="Seconds 'datapedia serve' lets running requests finish after SIGTERM "
        "(new connections are refused at once); then it stops anyway.",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Addresses of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto 'datapedia serve' believes (comma-separated, or '*'): the client "
        "address that anonymous feedback is limited by.",
    )
    write_stored_files: bool = Field(
        default=True,
        description="Write the stored downloads and Data Cube dumps a successful write made "
        "stale in a background thread of each server worker (the write's answer does not wait "
        "for them). Off: no thread; each file is written at its first download, and the "
        "catalogue states its size from then on.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="'json': one JSON object per log line, for log collectors."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")
    shacl_dir: Path | None = Field(
        default=None,
        description="Folder with the official DCAT-AP shapes for 'datapedia dcat validate' "
        "(default: shacl/ beside source_dir, ../shared/shacl).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) whose browser apps may also write "
        "(POST, PUT, PATCH, DELETE); comma-separated. Reads are open to every origin.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
                raise ValueError(
                    f"{origin!r} is not an origin: expected scheme://host[:port], e.g. "
                    "https://stad.gent (reads are open to every origin already)"
                )
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
            or any(c.isspace() for c in value)
        ):
            raise ValueError(
                "expected an absolute http(s) URL without query or fragment, such as "
                "https://data.example.be"
            )
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _use_psycopg3(cls, value: str) -> str:
        # Plain postgresql:// URLs would select psycopg2, which we do not ship.
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        expected = "expected sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE"
        if not value.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError(
                f"{expected} (SQLite and PostgreSQL are the databases Datapedia runs on)"
            )
        try:
            url = make_url(value)
            url.port  # noqa: B018  (parsed when read: a port that is no number raises)
        except (ArgumentError, ValueError):
            raise ValueError(f"{expected}; the port must be a number") from None
        if url.get_backend_name() == "postgresql" and not url.database:
            # libpq would take the user's name for it: the schema would land in the
            # server's maintenance database ("postgres").
            raise ValueError(f"{expected}; the database name is missing")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for address in (a.strip() for a in value.split(",")):
            if address == "*":
                continue
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise ValueError(
                    f"{address!r} is not an IP address or network; expected addresses or "
                    "networks separated by commas (127.0.0.1,10.0.0.0/8), or '*'"
                ) from None
        return value

    @model_validator(mode="after")
    def _page_sizes(self) -> Settings:
        if self.default_page_size > self.max_page_size:
            raise ValueError(
                f"DATAPEDIA_DEFAULT_PAGE_SIZE ({self.default_page_size}) is larger than "
                f"DATAPEDIA_MAX_PAGE_SIZE ({self.max_page_size}): every list without page_size "
                "would be refused"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
