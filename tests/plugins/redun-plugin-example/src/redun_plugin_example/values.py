"""A custom value type, registered through ``register_value_types``."""

from __future__ import annotations

from redun import Value


class Greeting(Value):
    """A greeting that hashes by its text."""

    type_name = "example.Greeting"

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Greeting({self.text!r})"
