"""Live updates to open staff pages: a channel per person on Redis pub/sub or PostgreSQL
LISTEN/NOTIFY (``broker``), never in a process's memory, so any app process can tell a page that
another process serves. The browser side is ``hotline/web/static/hotline/live.js``."""
