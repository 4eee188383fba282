"""The open record every run-log model is made of: a pydantic model that keeps unknown keys
and writes them back in the order they were read.

Why its own module: it is the mechanism (reading, writing, setting and dropping keys, key order),
:mod:`kroma_kit.storage.runlog_model` is the shape (which fields a log has); the shape changes
often, the mechanism rarely.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator

# A number as the log wrote it: an int stays an int, so a log read and written back is the same text.
Number = int | float


class OpenRecord(BaseModel):
    """Unknown keys are kept (and written back) in the order they were read: older and
    original-tool logs must round-trip key for key."""

    model_config = ConfigDict(extra="allow", validate_assignment=False)
    _order: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_order(cls, data: Any, handler: Any) -> Any:
        model = handler(data)
        if isinstance(data, dict):
            # Straight into the private-attribute dict: pydantic's ``__setattr__`` on a private name
            # costs more than the rest of this validator, and it runs once per record of every copy.
            private = model.__pydantic_private__
            if private is None:
                model._order = list(data)
            else:
                private["_order"] = list(data)
        return model

    def to_json_data(self) -> dict[str, Any]:
        """JSON data with exactly the keys read or set (no defaults added), in the order read.
        pydantic-core builds the data (a fresh copy); only the models' own keys are put back in
        the order they were read (plain dict values keep theirs)."""
        return self._in_read_order(self.model_dump(exclude_unset=True))

    def _in_read_order(self, data: dict[str, Any]) -> dict[str, Any]:
        if self._order:
            read = set(self._order)
            data = {**{key: data[key] for key in self._order if key in data},
                    **{key: value for key, value in data.items() if key not in read}}
        for name, value in self.__dict__.items():
            if name not in data:
                continue
            if isinstance(value, OpenRecord):
                data[name] = value._in_read_order(data[name])
            elif isinstance(value, list) and value and isinstance(value[0], OpenRecord):
                data[name] = [item._in_read_order(entry) if isinstance(item, OpenRecord) else entry
                              for item, entry in zip(value, data[name], strict=True)]
        return data

    def to_json_bytes(self) -> bytes:
        """The record as compact UTF-8 JSON, exactly as the live run log writes it (pydantic-core's
        serializer, keys read or set only): one call in Rust, no Python walk of the record."""
        return type(self).__pydantic_serializer__.to_json(self, exclude_unset=True)

    def has(self, name: str) -> bool:
        """Whether the log holds key ``name`` (read or set; a default is not held)."""
        return name in self.model_fields_set or bool(self.model_extra and name in self.model_extra)

    def set(self, **fields: Any) -> None:
        """Set fields by name, each validated against its type (a dict given for a nested model
        becomes that model; a bad value raises), and marked as held so it is written."""
        validator = type(self).__pydantic_validator__
        for name, value in fields.items():
            validator.validate_assignment(self, name, value)

    def unset(self, name: str) -> None:
        """Drop key ``name`` from the log (a field goes back to its default and is not written)."""
        if self.model_extra and name in self.model_extra:
            del self.model_extra[name]
        elif name in type(self).model_fields:
            self.model_fields_set.discard(name)
            field = type(self).model_fields[name]
            object.__setattr__(self, name, field.get_default(call_default_factory=True))

    def get(self, name: str, default: Any = None) -> Any:
        """A key as the log holds it (a modelled field or an extra one), like ``dict.get``: a key
        the log does not have gives ``default``, not the model's default."""
        if name in self.model_fields_set:
            return getattr(self, name)
        if self.model_extra and name in self.model_extra:
            return self.model_extra[name]
        return default
