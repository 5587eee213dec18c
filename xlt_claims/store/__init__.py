"""The claim store (SQLite, or PostgreSQL) (SQLModel): schema, migrations, and the status/event helper."""

from .db import DEFAULT_DB, ENV_VAR, SCHEMA_VERSION, JSONText, Store, StoreError, open_store, resolve_url
from .events import set_status
from .status import Status, StatusGroup
from .models import *  # noqa: F401,F403

__all__ = ["DEFAULT_DB", "ENV_VAR", "SCHEMA_VERSION", "JSONText", "Status", "StatusGroup", "Store", "StoreError",
           "open_store", "resolve_url", "set_status"]
