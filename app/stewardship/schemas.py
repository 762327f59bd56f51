"""JSON shapes of the owners' routes: what may be sent (strictly typed, nothing extra) and what
comes back.

Whatever passes these models can be stored and read back by every reader (JSON, HTML, every
RDF syntax): no wrong JSON types, no control characters or lone surrogates (XML cannot carry
them, PostgreSQL refuses NUL), no text longer than its column.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    JsonValue,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from app.api.schemas import Timestamp
from app.api.text import multiline, single_line

# The EU authority tables the catalogue knows (app/rdf/vocab.py holds their labels; a test
# keeps the two lists equal). Kept here because stewardship lies below rdf in the layers.
ThemeCode = Literal[
    "AGRI",
    "ECON",
    "EDUC",
    "ENER",
    "ENVI",
    "GOVE",
    "HEAL",
    "INTR",
    "JUST",
    "OP_DATPRO",
    "REGI",
    "SOCI",
    "TECH",
    "TRAN",
]
FrequencyCode = Literal[
    "HOURLY",
    "DAILY",
    "WEEKLY",
    "BIWEEKLY",
    "MONTHLY",
    "BIMONTHLY",
    "QUARTERLY",
    "ANNUAL_2",
    "ANNUAL",
    "BIENNIAL",
    "TRIENNIAL",
    "QUADRENNIAL",
    "QUINQUENNIAL",
    "DECENNIAL",
    "CONT",
    "UPDATE_CONT",
    "IRREG",
    "NEVER",
    "OTHER",
    "UNKNOWN",
]
THEME_CODES: tuple[str, ...] = get_args(ThemeCode)
FREQUENCY_CODES: tuple[str, ...] = get_args(FrequencyCode)
AccessLevel = Literal["public", "restricted", "non_public"]
GrantableRole = Literal["owner", "supplier", "custodian", "originator"]
RoleName = Literal["owner", "publisher", "supplier", "custodian", "originator"]


# Lengths follow the columns (PostgreSQL refuses a longer value with an error, not a cut).
Title = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=500), AfterValidator(single_line)
]
Description = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=10_000), AfterValidator(multiline)
]
Keyword = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=100), AfterValidator(single_line)
]
ContactName = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=300), AfterValidator(single_line)
]
Version = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=50), AfterValidator(single_line)
]
# An id is text too: PostgreSQL cannot even compare one holding a NUL (a 500, not a 404).
OrganisationId = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=100), AfterValidator(single_line)
]
UnitRef = Annotated[
    StrictStr, StringConstraints(min_length=3, max_length=100), AfterValidator(single_line)
]


def _drop_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The document says what is accepted: null only where it clears a value."""
    nullable: frozenset[str] = getattr(model, "NULLABLE", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in nullable or "anyOf" not in prop:
            continue
        kept = [s for s in prop["anyOf"] if s != {"type": "null"}]
        if len(kept) == 1:
            del prop["anyOf"]
            prop.update(kept[0])
            prop.pop("default", None)


class _Patch(BaseModel):
    """A partial update: a field left out stays as it is; ``null`` only where it clears."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null)
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_it_clears(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("may not be null; leave the field out to keep it as it is")
        return value


class TitlePatch(_Patch):
    """A title in Dutch and/or English (at most 500 characters, one line)."""

    nl: Title | None = None
    en: Title | None = None


class DescriptionPatch(_Patch):
    """A description in Dutch and/or English (at most 10,000 characters)."""

    nl: Description | None = None
    en: Description | None = None


class KeywordsPatch(_Patch):
    """Keywords per language; a language given replaces that language's list."""

    nl: Annotated[list[Keyword], Field(max_length=50)] | None = None
    en: Annotated[list[Keyword], Field(max_length=50)] | None = None


class DatasetPatch(_Patch):
    """The metadata an owner may edit. Every field is optional; ``frequency``,
    ``contact_name``, ``contact_email`` and ``version`` may be ``null`` to clear them."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset(
        {"frequency", "contact_name", "contact_email", "version"}
    )

    title: TitlePatch | None = None
    description: DescriptionPatch | None = None
    keywords: KeywordsPatch | None = None
    themes: Annotated[list[ThemeCode], Field(min_length=1, max_length=len(THEME_CODES))] | None = (
        Field(default=None, description="EU data-theme codes (at least one).")
    )
    frequency: FrequencyCode | None = Field(
        default=None, description="EU frequency code, e.g. ANNUAL."
    )
    contact_name: ContactName | None = None
    contact_email: EmailStr | None = None
    version: Version | None = None
    access_level: AccessLevel | None = None


class RoleGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: OrganisationId = Field(examples=["gent"])
    role: GrantableRole = Field(
        description="owner, supplier, custodian or originator (the publisher is changed with "
        "PUT …/publisher)",
        examples=["supplier"],
    )
    territory: Annotated[list[UnitRef], Field(max_length=1000)] = Field(
        default_factory=list,
        description="For a supplier: `level:code` units of the dataset's geography version. "
        "Granting again replaces the territory; a unit named twice counts once.",
        examples=[["municipality:44021"]],
    )

    @field_validator("territory")
    @classmethod
    def _once_each(cls, territory: list[str]) -> list[str]:
        # Stored once each: the answer and the history say what is stored.
        return list(dict.fromkeys(territory))


class PublisherChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: OrganisationId = Field(examples=["kenniscentrum-vlaamse-steden"])


class EditResult(BaseModel):
    dataset: str
    changed: list[str] = Field(description="The stored columns that changed.")


class RoleResult(BaseModel):
    dataset: str
    organisation: str
    role: RoleName
    territory: list[str] = Field(default_factory=list, description="`level:code` units.")
    removed: bool = False


class PublisherResult(BaseModel):
    dataset: str
    publisher: str
    previous: str | None


class HistoryEvent(BaseModel):
    kind: str = Field(description="metadata, role or submission", examples=["metadata"])
    at: Timestamp
    organisation: str | None
    changes: dict[str, JsonValue]
