"""The GridSweep field app: what a grid worker (网格员) carries from door to door.

Offline first: every read and edit goes to the local SQLite store (`field_app.store`), which
keeps each edit together with the outbox operation that will sync it. When a network appears,
`field_app.sync_client` pushes the outbox to the sync server and pulls the changes of the
worker's grids, page by page.

The app itself (docs/field-app.md): `main` serves it with Flet, `state` holds each screen's
view-model (plain classes the tests drive), `views` draws them, `i18n` speaks zh-CN and English.
"""
