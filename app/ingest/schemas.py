"""JSON shapes of the submissions API: the Table Schema of uploads, a submission's result
and the list of submissions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import Page, Timestamp


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
    """One column of an upload."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str = Field(examples=["string", "number"])
    description: str | None = None
    constraints: FieldConstraints | None = None


class TableSchema(BaseModel):
    """A Frictionless Table Schema (https://specs.frictionlessdata.io/table-schema/): the
    columns of a dataset's uploads and the constraints every cell is checked against."""

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


class SubmissionResult(BaseModel):
    """An accepted submission: the new revision and what it changed."""

    submission: int = Field(description="Id of the submission.")
    revision: int = Field(description="The dataset's new revision.")
    rows_total: int
    rows_added: int
    rows_changed: int
    rows_unchanged: int


class SubmissionOut(BaseModel):
    """One submission (an upload or an import from the source) of a dataset."""

    id: int
    organisation: str
    created_at: Timestamp
    source: str | None = Field(description="`upload`, or the source file of an import.")
    media_type: str | None
    sha256: str
    state: str = Field(examples=["accepted"])
    revision: int | None
    rows_total: int
    rows_added: int
    rows_changed: int
    rows_unchanged: int


class SubmissionPage(Page[SubmissionOut]):
    """A page of submissions, newest first."""
