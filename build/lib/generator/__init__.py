"""fbs-schema: Odoo model metadata -> tenant-scoped PostgreSQL migrations.

Pipeline (one direction): capture -> snapshot -> diff -> render -> runner.
"""

__version__ = "0.1.0"
