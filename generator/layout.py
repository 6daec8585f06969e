"""Names of the files kept beside the migrations (a leaf module: every stage may import it)."""

# The snapshot (and rules) the newest migration was generated from.
KEPT_SNAPSHOT = "fbs-snapshot.json"
KEPT_RULES = "fbs-rules.toml"
