"""A small redun plugin: the ``inline`` executor, ``redun hello-plugin`` and a value type."""
