"""A redun plugin that cannot be imported: redun must report it and keep working."""

raise RuntimeError("redun-plugin-broken fails on import on purpose")
