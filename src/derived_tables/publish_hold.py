"""dbt-duckdb plugin: hold DuckDB's checkpoints while `derived build` writes the private file.

`derived build` lets dbt write the private build file in place (through a hard link in the
candidate folder, see publish.py) instead of copying it. That is sound only if nothing reaches
the file's blocks before the audit has passed: every change must stay in the write-ahead log
(the candidate's ``.wal``), so that discarding the build is deleting that log, and publishing
it is one checkpoint. DuckDB checkpoints on its own in two cases, both turned off here when
``derived build`` asks for it (``DERIVED_HOLD_CHECKPOINTS`` set in dbt's environment):

- when the WAL grows past ``checkpoint_threshold`` (16 MiB by default): the threshold is set
  to :data:`HOLD_THRESHOLD` in the configuration the database is *opened* with, so a second
  dbt process (the freshness step, docs generate) replaying the log does not checkpoint it
  either;
- when the database shuts down (dbt's process ends): ``pragma
  disable_checkpoint_on_shutdown`` (a pragma, not a setting, hence a plugin).

Without ``DERIVED_HOLD_CHECKPOINTS`` the plugin does nothing, so ``dbt`` run by hand behaves
as DuckDB always does. Enabled in profiles.yml::

    plugins:
      - module: derived_tables.publish_hold

publish.py writes the private file in place only for a target that lists this plugin (a
profile without it keeps the whole-file copy), and checks afterwards that the file's headers
did not change, as a second line of defence.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

#: Set (to any non-empty value) by `derived build` in dbt's environment.
HOLD_ENV = "DERIVED_HOLD_CHECKPOINTS"
#: A WAL size no build reaches (DuckDB's largest unit is TB).
HOLD_THRESHOLD = "1000TB"


def holding() -> bool:
    return bool(os.environ.get(HOLD_ENV))


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        if holding():
            config["checkpoint_threshold"] = HOLD_THRESHOLD

    def configure_connection(self, conn: Any) -> None:
        if holding():
            conn.execute("pragma disable_checkpoint_on_shutdown")
