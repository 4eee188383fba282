"""The REST API face (``kroma serve``): FastAPI routes over the same ``kroma_kit`` functions the CLI
and the panels call. One router module per route group in :mod:`kroma_kit.server.routes`; the
envelopes, the error taxonomy and auth are shared (``envelopes``, ``errors``, ``auth``).

Adding a route group = one module in ``routes/`` with an ``APIRouter`` named ``router`` whose
handlers each call one service function, plus its name in :data:`kroma_kit.server.app.ROUTE_MODULES`.
"""
