"""Things people read: the strategic assessment, place profiles, the dashboard."""
