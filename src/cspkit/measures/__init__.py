"""The measures a strategic assessment reports, computed from the warehouse."""
