"""The geographic levels Datapedia knows, finest first."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    SECTOR = "sector"
    WIJK = "wijk"
    MUNICIPALITY = "municipality"
    ARRONDISSEMENT = "arrondissement"
    PROVINCE = "province"
    REGION = "region"
    REFERENTIEREGIO = "referentieregio"
    VERVOERREGIO = "vervoerregio"
    CITYREGION = "cityregion"


@dataclass(frozen=True)
class LevelInfo:
    level: Level
    name_nl: str
    name_en: str
    description: str
    administrative: bool  # part of the sector → region tree; otherwise a regionalisation


LEVELS: tuple[LevelInfo, ...] = (
    LevelInfo(
        Level.SECTOR,
        "statistische sector",
        "statistical sector",
        "Statbel statistical sector (9-character code); the atomic level.",
        True,
    ),
    LevelInfo(
        Level.WIJK,
        "wijk",
        "neighbourhood",
        "Municipality-borne neighbourhood (ggw7) of the 2025 sector version: a group of "
        "sectors inside one municipality; the …WONB wijken hold the not-localisable rest.",
        True,
    ),
    LevelInfo(
        Level.MUNICIPALITY,
        "gemeente",
        "municipality",
        "Municipality, 5-digit REFNIS (NIS) code.",
        True,
    ),
    LevelInfo(
        Level.ARRONDISSEMENT,
        "arrondissement",
        "arrondissement",
        "Administrative arrondissement, 5-digit REFNIS code.",
        True,
    ),
    LevelInfo(
        Level.PROVINCE,
        "provincie",
        "province",
        "Province, 5-digit REFNIS code. Brussels belongs to no province.",
        True,
    ),
    LevelInfo(
        Level.REGION,
        "gewest",
        "region",
        "Region: 02000 Flemish Region, 04000 Brussels-Capital Region.",
        True,
    ),
    LevelInfo(
        Level.REFERENTIEREGIO,
        "referentieregio",
        "reference region",
        "Flemish reference regions REFREG01–REFREG15, groups of municipalities.",
        False,
    ),
    LevelInfo(
        Level.VERVOERREGIO,
        "vervoerregio",
        "transport region",
        "Flemish transport regions 1–15, groups of municipalities.",
        False,
    ),
    LevelInfo(
        Level.CITYREGION,
        "stadsregio",
        "city-region",
        "A city-region per centre city, defined in seeds/cityregions.yaml.",
        False,
    ),
)
