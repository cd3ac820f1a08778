"""Alembic environment for the redun record; run through redun, never with an alembic.ini.

redun builds the alembic ``Config`` in code and hands over an open connection in
``config.attributes["connection"]`` (see ``redun.backends.db.versions``).
"""

from alembic import context

from redun.backends.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("redun migrations run only through `redun db upgrade` (online, in code)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
