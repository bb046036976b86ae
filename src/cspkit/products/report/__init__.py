"""The strategic assessment document: assembled from measures, rendered to HTML, PDF, CSV and
XLSX."""
