"""Thin Flet views: one screen per module, each drawing its view-model from field_app.state.

`app.App` is the root component; `theme` and `widgets` hold what the screens share.
"""
