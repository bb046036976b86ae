"""The partnership's web dashboard (`cspkit serve`): the same measures, tests, error control
and disclosure as the document, read from the warehouse's last committed snapshot.

One `app.py` builds the FastAPI application and owns its state (`WebState`: the snapshot
reader, the result cache, the accounts database, the report jobs). Each page is one module
holding its JSON API routes (under /api, described by the OpenAPI document) and its HTML page,
which is server-rendered from the same data the API returns:

- overview.py: headline counts, rates, verdicts and the findings that survived error control
- explorer.py: one issue x period x level: trend, map, table, comparisons, CSV
- places.py: the vulnerable-places ranking, with its map, and place profiles
- custom_area.py: an area drawn from LSOAs or wards, or a GeoJSON polygon, and its profile
- reports.py: building the assessment in the background and downloading it
- data.py: what is loaded, the quarantine, and the admin's upload through the ingest pipeline
- accounts.py / auth.py: local accounts, sessions, CSRF and who may see restricted sources

Shared: snapshots.py (reader beside writers), cache.py (results per snapshot), blocks.py (the
one formatting and disclosure layer: document blocks to JSON and HTML), svgmap.py (maps drawn
as SVG on the server, no tiles), context.py (the district and period a request asks for).
"""
