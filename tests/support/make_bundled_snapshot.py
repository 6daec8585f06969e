"""Produce the bundled default snapshot with the project's own XML-RPC capture.

Serves the Odoo 17 reference export (../shared/reference/odoo-17.0, or the trimmed fixtures when
it is absent: they hold the same values for every column capture reads) from the local test
server and captures preset sales-inventory with references, exactly as a user would from a live Odoo.
"""

from __future__ import annotations

import sys

from generator import api
from generator.capture.scope import Scope
from generator.capture.transports import OdooConfig
from tests.support import reference
from tests.support.make_fixtures import FIXTURES, load_records
from tests.support.odoo_server import DB, PASSWORD, USER, FakeOdoo

BUNDLED_SCOPE = Scope(preset="sales-inventory", with_references=True)


def capture_from(folder, scope: Scope = BUNDLED_SCOPE, output: str | None = None) -> api.CaptureResult:
    with FakeOdoo(load_records(folder)) as server:
        config = OdooConfig(url=server.url, database=DB, user=USER, password=PASSWORD)
        return api.capture(api.Source(odoo=config), scope, output=output)


def main() -> None:
    folder = reference.REFERENCE if reference.available() else FIXTURES
    result = capture_from(folder, output=str(api.BUNDLED_SNAPSHOT))
    print(f"{api.BUNDLED_SNAPSHOT}: {len(result.snapshot.models)} models, sha256 {result.sha256} (from {folder})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
