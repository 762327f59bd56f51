"""Frictionless Table Schema (https://specs.frictionlessdata.io/table-schema/) as typed
models: the schema of uploads (app.ingest) and of whole-dataset downloads (app.downloads)."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field


class FieldConstraints(BaseModel):
    """Frictionless field constraints; a cell that breaks one is refused (422)."""

    model_config = ConfigDict(extra="allow")

    required: bool | None = None
    pattern: str | None = Field(
        default=None, description="A regular expression the whole cell must match."
    )
    enum: list[str] | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None


class TableField(BaseModel):
    """One column of a table."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str = Field(examples=["string", "number"])
    description: str | None = None
    constraints: FieldConstraints | None = None


class TableSchema(BaseModel):
    """A Frictionless Table Schema (https://specs.frictionlessdata.io/table-schema/): the
    columns of a table and the constraints every cell is checked against."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_: str = Field(
        alias="$schema", examples=["https://specs.frictionlessdata.io/schemas/table-schema.json"]
    )
    name: str
    title: str
    fields: list[TableField]
    primaryKey: list[str]  # noqa: N815 - the Frictionless name
    missingValues: list[str]  # noqa: N815 - the Frictionless name

    def field(self, name: str) -> TableField | None:
        return next((f for f in self.fields if f.name == name), None)


def render(schema: TableSchema) -> str:
    """The schema as the JSON file written to ``schemas/`` (and compared with what is served)."""
    document = schema.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
