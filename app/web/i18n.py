"""Languages of the HTML pages: Dutch by default, English on request (``?lang=en`` or
``Accept-Language``); every label the pages show, and numbers and dates in the reader's
locale (Babel's CLDR data: ``272.657`` in Dutch, ``272,657`` in English)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Literal

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern

from app.api.negotiation import by_preference

Lang = Literal["nl", "en"]
LANGUAGES: tuple[Lang, ...] = ("nl", "en")
LOCALES: dict[Lang, str] = {"nl": "nl_BE", "en": "en_GB"}


def choose_language(requested: str | None, accept_language: str | None) -> Lang:
    """``?lang=`` wins; else the first of nl/en the browser prefers; else Dutch."""
    if requested in LANGUAGES:
        return "en" if requested == "en" else "nl"
    for value, quality in by_preference(accept_language):
        tag = value.split("-")[0]
        if quality > 0 and tag in LANGUAGES:
            return "en" if tag == "en" else "nl"
    return "nl"


# key -> (Dutch, English). Codes stored in the database (roles, access levels, statuses,
# levels, units, themes, frequencies) are translated here, never shown raw.
LABELS: dict[str, tuple[str, str]] = {
    # navigation and common words
    "site.tagline": (
        "Open data over de Vlaamse centrumsteden, van statistische sector tot stadsregio.",
        "Open data about the Flemish centre cities, from statistical sector to city-region.",
    ),
    "nav.home": ("Start", "Home"),
    "nav.search": ("Zoeken", "Search"),
    "nav.catalog": ("Catalogus", "Catalogue"),
    "nav.api": ("API", "API"),
    "nav.language": ("English", "Nederlands"),
    "nav.skip": ("Naar de inhoud", "Skip to content"),
    "page.error": ("Fout", "Error"),
    "alternates": ("Dit als data", "This as data"),
    "api_call": ("API-aanroep met deze cijfers", "API call giving these numbers"),
    "search.label": (
        "Zoek datasets, indicatoren en plaatsen",
        "Search datasets, indicators and places",
    ),
    "search.placeholder": ("bv. Gent, bevolking, energie", "e.g. Gent, population, energy"),
    "search.button": ("Zoeken", "Search"),
    "search.title": ("Zoeken", "Search"),
    "search.results": ("resultaten voor", "results for"),
    "search.none": ("Niets gevonden.", "Nothing found."),
    "search.empty": (
        "Typ een woord: een thema, een indicator of een gemeente.",
        "Type a word: a theme, an indicator or a municipality.",
    ),
    "search.facets": ("Verfijnen", "Refine"),
    "search.all": ("alle", "all"),
    "facet.themes": ("Thema", "Theme"),
    "facet.organisation": ("Organisatie", "Organisation"),
    "facet.licence": ("Licentie", "Licence"),
    "facet.access_level": ("Toegang", "Access"),
    "facet.level": ("Niveau", "Level"),
    "facet.period": ("Periode", "Period"),
    "home.themes": ("Thema's", "Themes"),
    "home.newest": ("Laatst gewijzigd", "Recently changed"),
    "home.headline": ("De centrumsteden vergeleken", "The centre cities compared"),
    "home.all_datasets": ("Alle datasets", "All datasets"),
    "datasets": ("Datasets", "Datasets"),
    "indicators": ("Indicatoren", "Indicators"),
    "places": ("Plaatsen", "Places"),
    "not_found": ("Niet gevonden", "Not found"),
    # error pages: a sentence per kind of error ({…} filled in by app.web.pages.error_page)
    "error.404": (
        "Op dit adres staat geen pagina. Misschien is de link verouderd of is het adres "
        "verkeerd getypt.",
        "There is no page at this address. The link may be out of date, or the address mistyped.",
    ),
    "error.404.dataset": (
        "Er is geen dataset met de code “{id}”.",
        "There is no dataset with the code “{id}”.",
    ),
    "error.404.indicator": (
        "Er is geen indicator met de code “{id}”.",
        "There is no indicator with the code “{id}”.",
    ),
    "error.404.organisation": (
        "Er is geen organisatie met de code “{id}”.",
        "There is no organisation with the code “{id}”.",
    ),
    "error.404.unit": (
        "Er is geen {level} met de code “{code}”.",
        "There is no {level} with the code “{code}”.",
    ),
    "error.parameter": (
        "De waarde van “{parameter}” in het adres kan niet.",
        "The value of “{parameter}” in the address cannot be used.",
    ),
    "error.parameter.q": (
        "Een zoekopdracht mag hoogstens 200 tekens lang zijn, zonder onzichtbare tekens zoals "
        "een regeleinde.",
        "A search can be at most 200 characters long, without invisible characters such as a "
        "line break.",
    ),
    "error.parameter.version": (
        "Deze geografische versie bestaat niet.",
        "This geography version does not exist.",
    ),
    "error.parameter.level": (
        "Dit gebiedsniveau bestaat niet.",
        "This level of areas does not exist.",
    ),
    "error.parameter.access_level": (
        "Kies als toegang openbaar, beperkt of niet openbaar.",
        "Choose public, restricted or non-public as access.",
    ),
    "error.parameter.page": (
        "Het paginanummer in het adres moet een geheel getal vanaf 1 zijn.",
        "The page number in the address must be a whole number from 1.",
    ),
    "error.parameter.page_size": (
        "Het aantal per pagina in het adres kan niet.",
        "The number per page in the address cannot be used.",
    ),
    "error.400": (
        "Dit verzoek kan de site niet lezen.",
        "The site cannot read this request.",
    ),
    "error.405": (
        "Dit adres kan niet op deze manier gebruikt worden.",
        "This address cannot be used this way.",
    ),
    "error.413": ("Wat u verstuurde is te groot.", "What you sent is too large."),
    "error.429": (
        "U stuurde te veel verzoeken kort na elkaar. Wacht even en probeer het opnieuw.",
        "You sent too many requests in a short time. Wait a moment and try again.",
    ),
    "error.other": (
        "Dit verzoek kan de site niet beantwoorden.",
        "The site cannot answer this request.",
    ),
    "error.next": (
        "Zoek hieronder wat u zocht, of ga terug naar de vorige pagina.",
        "Search below for what you were looking for, or go back to the previous page.",
    ),
    "error.technical": ("Technische details (in het Engels)", "Technical details"),
    # pages of linked-data resources without a page of their own
    "resource.issued": ("Uitgegeven", "Issued"),
    "resource.modified": ("Gewijzigd", "Modified"),
    "resource.record_of": ("Catalogusrecord van", "Catalogue record of"),
    "resource.format": ("Formaat", "Format"),
    "resource.components": ("Componenten", "Components"),
    "resource.structure_of": ("Datastructuur van", "Data structure of"),
    "resource.endpoint": ("Eindpunt", "Endpoint"),
    "resource.api_docs": ("API-documentatie", "API documentation"),
    "resource.kind": ("Soort", "Kind"),
    "resource.component": ("Data Cube-component", "Data Cube component"),
    "resource.method": ("Methode", "Method"),
    "resource.code_list": ("Codelijst (Data Cube)", "Code list (Data Cube)"),
    "resource.status": ("Status van een waarneming", "Status of an observation"),
    "resource.scheme": ("Codelijst", "Code list"),
    "bad_request": ("Dit verzoek kan niet", "This request cannot be answered"),
    # dataset page
    "dataset.about": ("Over deze dataset", "About this dataset"),
    "dataset.licence": ("Licentie", "Licence"),
    "dataset.cite": ("Zo citeert u", "How to cite"),
    "dataset.access": ("Toegang", "Access"),
    "dataset.themes": ("Thema's", "Themes"),
    "dataset.keywords": ("Trefwoorden", "Keywords"),
    "dataset.periods": ("Periodes", "Periods"),
    "dataset.geo_version": ("Geografische versie", "Geography version"),
    "dataset.values": ("Aantal waarden", "Number of values"),
    "dataset.modified": ("Laatst gewijzigd", "Last changed"),
    "dataset.issued": ("Gepubliceerd", "Published"),
    "dataset.frequency": ("Updatefrequentie", "Update frequency"),
    "dataset.contact": ("Contact", "Contact"),
    "dataset.source": ("Bron", "Source"),
    "dataset.derived_from": ("Berekend door Datapedia uit", "Computed by Datapedia from"),
    "dataset.publisher": ("Uitgever", "Publisher"),
    "dataset.roles": ("Wie doet wat", "Who does what"),
    "dataset.organisation": ("Organisatie", "Organisation"),
    "dataset.role": ("Rol", "Role"),
    "dataset.territory": ("Gebied", "Territory"),
    "dataset.formats": ("Formaten", "Formats"),
    "dataset.preview": ("Voorbeeld", "Preview"),
    "dataset.preview_caption": ("De eerste waarden per", "The first values per"),
    "dataset.restricted": (
        "De waarden van deze dataset zijn niet openbaar: u hebt een API-sleutel en "
        "toelating nodig.",
        "The values of this dataset are not public: you need an API key and a grant.",
    ),
    "dataset.non_public": (
        "De waarden van deze dataset zijn niet openbaar: alleen de beschrijving wordt "
        "gepubliceerd. Geen toelating opent ze; de eigenaars en leveranciers lezen ze.",
        "The values of this dataset are not public: only its description is published. No "
        "grant opens them; its owners and suppliers read them.",
    ),
    "dataset.download": ("Downloaden", "Download"),
    "dataset.download_help": (
        "Kies wat u wilt en download de cijfers.",
        "Choose what you need and download the numbers.",
    ),
    "dataset.feedback": ("Vragen en antwoorden", "Questions and answers"),
    "dataset.no_feedback": ("Nog geen vragen.", "No questions yet."),
    "dataset.answer": ("antwoord", "answer"),
    "dataset.anonymous": ("anoniem", "anonymous"),
    "dataset.unverified": ("zonder sleutel, niet geverifieerd", "without a key, not verified"),
    "ask.title": ("Stel een vraag", "Ask a question"),
    "ask.help": (
        "De eigenaars van de dataset antwoorden hier, voor iedereen zichtbaar. Uw naam staat "
        "bij uw bericht; uw e-mailadres wordt niet gepubliceerd.",
        "The owners of the dataset answer here, for everyone to read. Your name is shown with "
        "your message; your e-mail address is never published.",
    ),
    "ask.kind": ("Soort bericht", "Kind of message"),
    "ask.subject": ("Onderwerp", "Subject"),
    "ask.body": ("Uw bericht", "Your message"),
    "ask.name": ("Uw naam", "Your name"),
    "ask.email": ("Uw e-mailadres", "Your e-mail address"),
    "ask.send": ("Versturen", "Send"),
    "ask.problems": (
        "Uw bericht is niet verstuurd. Verbeter wat hieronder staat:",
        "Your message was not sent. Please correct what is marked below:",
    ),
    "ask.back": ("Terug naar de dataset", "Back to the dataset"),
    "ask.reply": ("Reageer", "Reply"),
    "ask.error.kind": ("Kies een soort bericht.", "Choose a kind of message."),
    "ask.error.title": (
        "Geef een onderwerp van één regel, hoogstens 200 tekens.",
        "Give a subject of one line, at most 200 characters.",
    ),
    "ask.error.body": (
        "Schrijf uw bericht, hoogstens 5000 tekens.",
        "Write your message, at most 5,000 characters.",
    ),
    "ask.error.name": (
        "Geef uw naam, op één regel, hoogstens 200 tekens.",
        "Give your name, on one line, at most 200 characters.",
    ),
    "ask.error.name_organisation": (
        "Dat is de naam van een organisatie. Een organisatie schrijft met haar API-sleutel; "
        "geef hier uw eigen naam.",
        "That is the name of an organisation. An organisation writes with its API key; give "
        "your own name here.",
    ),
    "ask.error.no_access": (
        "Deze dataset is niet openbaar: geen toelating opent hem. Vraag de eigenaars om hem "
        "te publiceren (soort: vraag naar gegevens).",
        "This dataset is non-public: no grant opens it. Ask its owners to publish it (kind: "
        "data request).",
    ),
    "ask.error.public": (
        "Deze dataset is openbaar: iedereen leest zijn waarden zonder toelating. Stel gerust "
        "een vraag (soort: vraag).",
        "This dataset is public: everyone reads its values without a grant. Ask a question "
        "instead (kind: question).",
    ),
    "ask.too_many": (
        "Uw bericht is niet verstuurd: er kwamen te veel berichten na elkaar van uw adres. "
        "Het staat hieronder nog; verstuur het opnieuw over {seconds} seconden.",
        "Your message was not sent: too many messages came from your address in a row. It is "
        "still below; send it again in {seconds} seconds.",
    ),
    "ask.error.email": ("Geef een geldig e-mailadres.", "Give a valid e-mail address."),
    "thread.question": ("vraag", "question"),
    "thread.error_report": ("foutmelding", "error report"),
    "thread.data_request": ("vraag naar gegevens", "data request"),
    "thread.access_request": ("vraag om toegang", "access request"),
    "thread_state.open": ("open", "open"),
    "thread_state.answered": ("beantwoord", "answered"),
    "thread_state.closed": ("gesloten", "closed"),
    "download.indicator": ("Indicator", "Indicator"),
    "download.level": ("Niveau", "Level"),
    "download.period": ("Periode", "Period"),
    "download.within": (
        "Binnen (bv. Gent, 44021 of municipality:44021)",
        "Within (e.g. Ghent, 44021 or municipality:44021)",
    ),
    "download.format": ("Formaat", "Format"),
    "download.all": ("alle", "all"),
    "download.button": ("Downloaden", "Download"),
    "download.problems": (
        "Deze download kan niet. Verbeter wat hieronder staat:",
        "This download cannot be made. Please correct what is marked below:",
    ),
    "download.error.indicator": (
        "Kies een indicator van deze dataset.",
        "Choose an indicator of this dataset.",
    ),
    "download.error.level": (
        "Deze dataset heeft geen cijfers op dat niveau. Kies een niveau uit de lijst.",
        "This dataset has no numbers at that level. Choose a level from the list.",
    ),
    "download.error.period": (
        "Deze dataset heeft geen cijfers voor die periode. Kies een periode uit de lijst.",
        "This dataset has no numbers for that period. Choose a period from the list.",
    ),
    "download.error.within": (
        "Geen plaats met die naam of code in de geografie van deze dataset. Typ een naam "
        "(Gent), een code (44021) of niveau:code (municipality:44021).",
        "No place of that name or code in this dataset's geography. Type a name (Ghent), a "
        "code (44021) or level:code (municipality:44021).",
    ),
    "download.error.format": ("Kies CSV of JSON-stat.", "Choose CSV or JSON-stat."),
    # indicator page
    "indicator.definition": ("Definitie", "Definition"),
    "indicator.unit": ("Eenheid", "Unit"),
    "indicator.formula": ("Formule", "Formula"),
    "indicator.formula_ids": ("met de codes van de indicatoren", "with the indicators' codes"),
    "indicator.derived_sums": (
        "elk deel opgeteld over de statistische sectoren (versie {version}) van het gebied",
        "each part summed over the statistical sectors (version {version}) of the area",
    ),
    "indicator.derived": ("Afgeleid uit", "Derived from"),
    "indicator.derived_part": ("Deel", "Part"),
    "indicator.derived_role": ("Rol", "Role"),
    "indicator.derived_dataset": ("Dataset", "Dataset"),
    "indicator.derived_periods": ("Perioderegel", "Period rule"),
    "indicator.period_same": (
        "dezelfde periode voor elk deel",
        "the same period for every part",
    ),
    "indicator.period_map": ("per periode", "per period"),
    "derived_role.numerator": ("teller", "numerator"),
    "derived_role.denominator": ("noemer", "denominator"),
    "indicator.rule": ("Aggregatieregel", "Aggregation rule"),
    "indicator.caveats": ("Kanttekeningen", "Caveats"),
    "indicator.source": ("Bron", "Source"),
    "indicator.supplier": ("Leverancier", "Supplier"),
    "indicator.decimals": ("Decimalen", "Decimals"),
    "indicator.disclosure": ("Geheimhouding", "Disclosure control"),
    "indicator.compare": ("De centrumsteden vergeleken", "The centre cities compared"),
    "indicator.compare_help": (
        "Elke centrumstad, haar stadsregio en het Vlaamse Gewest, voor elke periode.",
        "Each centre city, its city-region and the Flemish Region, for every period.",
    ),
    "indicator.map": ("Kaart", "Map"),
    "indicator.map_flanders": ("Gemeenten van Vlaanderen", "Municipalities of Flanders"),
    "indicator.map_inside": ("Binnen de gemeente", "Inside the municipality"),
    "indicator.choose_municipality": ("Kies een gemeente", "Choose a municipality"),
    "indicator.show": ("Toon", "Show"),
    "indicator.unknown_municipality": (
        "Er is geen Vlaamse gemeente met code {code}: kies er een uit de lijst.",
        "There is no Flemish municipality with code {code}: choose one from the list.",
    ),
    "indicator.nothing_inside": (
        "Binnen {name} heeft deze indicator geen waarden op een lager niveau.",
        "Inside {name} this indicator has no values at a lower level.",
    ),
    "indicator.no_values": (
        "Voor deze indicator zijn er nog geen waarden.",
        "This indicator has no values yet.",
    ),
    "indicator.not_public": (
        "De waarden van deze indicator zijn niet openbaar: de dataset heeft beperkte toegang "
        "of is niet-openbaar. De pagina van de dataset zegt wie ze mag lezen.",
        "The values of this indicator are not public: its dataset is restricted or non-public. "
        "The dataset's page says who may read them.",
    ),
    "indicator.not_at_level": (
        "Deze indicator wordt enkel gepubliceerd op het niveau waarop hij geleverd is.",
        "This indicator is published only at the level it was supplied at.",
    ),
    "comparison.same_area": (
        "Dezelfde gemeenten, dus dezelfde waarden (een stadsregio is standaard de "
        "referentieregio van haar centrumstad)",
        "The same municipalities, so the same values (by default a city-region is its centre "
        "city's referentieregio)",
    ),
    "map.legend": ("Legende", "Legend"),
    # {n}: how many areas of the table have no shape on the map (charts.js fills it in)
    "map.no_geometry_one": ("zonder kaartvlak (1 gebied)", "without a map area (1 area)"),
    "map.no_geometry_many": ("zonder kaartvlak ({n} gebieden)", "without a map area ({n} areas)"),
    "map.no_value": ("geen waarde", "no value"),
    "map.credit": ("Grenzen", "Boundaries"),
    "map.sources": (
        "statistische sectoren 2021 © Statbel, via Sciensano bemaps (CC BY 4.0), vereenvoudigd; "
        "gemeenten © Statbel; wijken voor omgevingsanalyse © gemeentebesturen, verzameld door "
        "Data & Analyse van de Vlaamse provincies.",
        "statistical sectors 2021 © Statbel, via Sciensano bemaps (CC BY 4.0), simplified; "
        "municipalities © Statbel; neighbourhoods (wijken voor omgevingsanalyse) © the "
        "municipalities, collected by Data & Analyse of the Flemish provinces.",
    ),
    "table.area": ("Gebied", "Area"),
    "table.code": ("Code", "Code"),
    "table.value": ("Waarde", "Value"),
    "table.status": ("Status", "Status"),
    "table.period": ("Periode", "Period"),
    "table.show": ("Cijfers als tabel", "Numbers as a table"),
    "unit.city": ("Stad", "City"),
    "unit.cityregion": ("Stadsregio", "City-region"),
    "unit.region": ("Vlaams Gewest", "Flemish Region"),
    # place page
    "place.in_numbers": ("in cijfers", "in numbers"),
    "place.key_figures": ("Kerncijfers", "Key figures"),
    "place.compare_with": ("vergeleken met", "compared with"),
    "place.parents": ("Ligt in", "Lies in"),
    "place.successors": ("Opvolgers", "Successors"),
    "place.predecessors": ("Voorgangers", "Predecessors"),
    "place.versions": ("Versies", "Versions"),
    "place.children": ("Onderdelen", "Parts"),
    "place.map": ("Op de kaart", "On the map"),
    "place.change": ("Verandering", "Change"),
    "place.since": ("sinds", "since"),
    "place.points": ("procentpunt", "percentage points"),
    "place.profile_api": ("Dit profiel als JSON (API)", "This profile as JSON (API)"),
    "place.members": ("Gemeenten", "Municipalities"),
    # organisation page
    "organisation.kind": ("Soort", "Kind"),
    "organisation.roles": ("Rollen", "Roles"),
    # roles
    "role.owner": ("mede-eigenaar", "co-owner"),
    "role.publisher": ("uitgever", "publisher"),
    "role.supplier": ("leverancier", "supplier"),
    "role.custodian": ("beheerder", "custodian"),
    "role.originator": ("oorspronkelijke bron", "original source"),
    # access levels
    "access.public": ("openbaar", "public"),
    "access.restricted": ("beperkt", "restricted"),
    "access.non_public": ("niet openbaar", "non-public"),
    # statuses
    "status.normal": ("normaal", "normal"),
    "status.provisional": ("voorlopig", "provisional"),
    "status.estimated": ("geschat", "estimated"),
    "status.confidential": ("vertrouwelijk", "confidential"),
    "status.not_applicable": ("niet van toepassing", "not applicable"),
    "status.missing": ("ontbrekend", "missing"),
    "status.incomplete": ("onvolledig", "incomplete"),
    # levels
    "level.sector": ("statistische sector", "statistical sector"),
    "level.wijk": ("wijk", "neighbourhood"),
    "level.municipality": ("gemeente", "municipality"),
    "level.arrondissement": ("arrondissement", "arrondissement"),
    "level.province": ("provincie", "province"),
    "level.region": ("gewest", "region"),
    "level.referentieregio": ("referentieregio", "reference region"),
    "level.vervoerregio": ("vervoerregio", "transport region"),
    "level.cityregion": ("stadsregio", "city-region"),
    # aggregation rules
    "rule.sum": ("som", "sum"),
    "rule.ratio": ("verhouding van twee sommen", "ratio of two sums"),
    "rule.weighted_mean": ("gewogen gemiddelde", "weighted mean"),
    "rule.none": (
        "niet optelbaar: enkel op het geleverde niveau",
        "not additive: only at the level supplied",
    ),
    # units of measure
    "uom.inhabitants": ("inwoners", "inhabitants"),
    "uom.km2": ("km²", "km²"),
    "uom.inhabitants/km2": ("inwoners per km²", "inhabitants per km²"),
    "uom.percent": ("%", "%"),
    "uom.EUR": ("euro", "euro"),
    "uom.kWh": ("kWh", "kWh"),
    "uom.connections": ("aansluitingen", "connections"),
    "uom.households": ("huishoudens", "households"),
    "uom.cars": ("wagens", "cars"),
    "uom.cars/household": ("wagens per huishouden", "cars per household"),
    "uom.ha": ("ha", "ha"),
    "uom.hectare": ("ha", "ha"),
    "uom.kWh/connection": ("kWh per aansluiting", "kWh per connection"),
    "uom.kWh/inhabitant": ("kWh per inwoner", "kWh per inhabitant"),
    "uom.ha/km2": ("ha per km²", "ha per km²"),
    # organisation kinds
    "kind.city": ("stad", "city"),
    "kind.agency": ("agentschap", "agency"),
    "kind.statistical_office": ("statistiekbureau", "statistical office"),
    "kind.community_commission": ("gemeenschapscommissie", "community commission"),
    "kind.knowledge_centre": ("kenniscentrum", "knowledge centre"),
    "kind.utility": ("netbeheerder", "utility"),
    "kind.province": ("provincie", "province"),
    # EU data themes
    "theme.AGRI": (
        "Landbouw, visserij, bosbouw en voeding",
        "Agriculture, fisheries, forestry and food",
    ),
    "theme.ECON": ("Economie en financiën", "Economy and finance"),
    "theme.EDUC": ("Onderwijs, cultuur en sport", "Education, culture and sport"),
    "theme.ENER": ("Energie", "Energy"),
    "theme.ENVI": ("Milieu", "Environment"),
    "theme.GOVE": ("Overheid en publieke sector", "Government and public sector"),
    "theme.HEAL": ("Gezondheid", "Health"),
    "theme.INTR": ("Internationale vraagstukken", "International issues"),
    "theme.JUST": (
        "Justitie, rechtsstelsel en openbare veiligheid",
        "Justice, legal system and public safety",
    ),
    "theme.REGI": ("Regio's en steden", "Regions and cities"),
    "theme.SOCI": ("Bevolking en samenleving", "Population and society"),
    "theme.TECH": ("Wetenschap en technologie", "Science and technology"),
    "theme.TRAN": ("Vervoer", "Transport"),
    # frequencies
    "frequency.ANNUAL": ("jaarlijks", "annual"),
    "frequency.TRIENNIAL": ("driejaarlijks", "every three years"),
    "frequency.IRREG": ("onregelmatig", "irregular"),
    "frequency.MONTHLY": ("maandelijks", "monthly"),
    "frequency.QUARTERLY": ("driemaandelijks", "quarterly"),
    "frequency.NEVER": ("nooit", "never"),
}


# Places with a name of their own in English (the two regions). Other places keep their one
# name: a municipality's is a name in any language; the names of sectors, wijken,
# regionalisations and city-regions are Dutch words ("Stadsregio Gent", "Regio Gent",
# "Gent - niet te lokaliseren"), marked as Dutch on an English page.
PLACE_NAMES: dict[str, tuple[str, str]] = {
    "region:02000": ("Vlaams Gewest", "Flemish Region"),
    "region:04000": ("Brussels Hoofdstedelijk Gewest", "Brussels-Capital Region"),
}
DUTCH_NAMED_LEVELS = frozenset({"sector", "wijk", "referentieregio", "vervoerregio", "cityregion"})

_PLACE = re.compile(r"\{(\w+)\}")


@lru_cache(maxsize=16)
def _pattern(decimals: int) -> NumberPattern:
    """Parsed once: pages format hundreds of numbers."""
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals > 0 else ""))


class Translator:
    """What a template needs to speak the reader's language."""

    def __init__(self, lang: Lang, *, chosen: bool = False) -> None:
        self.lang: Lang = lang
        self.locale = Locale.parse(LOCALES[lang])
        # Chosen on the site (``?lang=``) rather than guessed from the browser: links keep it,
        # Dutch too, or a reader whose browser prefers English could not stay on Dutch pages.
        self.keeps_lang = chosen or lang != "nl"
        self.place_names: Mapping[str, tuple[str, str]] = PLACE_NAMES

    def __call__(self, key: str) -> str:
        pair = LABELS.get(key)
        if pair is None:
            # A code without a label (a new unit, a new theme) is shown as it is stored.
            return key.split(".", 1)[-1]
        return pair[0] if self.lang == "nl" else pair[1]

    def knows(self, key: str) -> bool:
        return key in LABELS

    def fill(self, key: str, **values: object) -> str:
        """A label with its ``{name}`` places filled in, in one pass (a value that holds
        braces is shown as it is, never read as a place)."""
        return _PLACE.sub(lambda m: str(values.get(m[1], m[0])), self(key))

    def know_places(self, names: Mapping[str, tuple[str, str]]) -> None:
        """Places named in both languages in the database (``level:code`` → Dutch, English),
        besides the ones named here."""
        self.place_names = {**PLACE_NAMES, **names}

    def place(self, level: str, code: str, name: str) -> str:
        """A place's name in the reader's language where it has one in both."""
        names = self.place_names.get(f"{level}:{code}")
        return name if names is None else names[0 if self.lang == "nl" else 1]

    def place_lang(self, level: str, code: str) -> Lang | None:
        """The language to mark a place's name in when it is not the page's (WCAG 3.1.2)."""
        dutch = level in DUTCH_NAMED_LEVELS and f"{level}:{code}" not in self.place_names
        return "nl" if dutch and self.lang != "nl" else None

    def code(self, kind: str, value: str | None) -> str:
        """A stored code (``role``, ``access``, ``status``, ``level``…) in words."""
        return "" if value is None else self(f"{kind}.{value}")

    def text(self, value: object) -> str:
        """A multilingual text (``{nl, en}``) in the reader's language, else the other."""
        nl = getattr(value, "nl", None)
        en = getattr(value, "en", None)
        first, second = (nl, en) if self.lang == "nl" else (en, nl)
        return str(first or second or "")

    def number(self, value: float | None, decimals: int = 0) -> str:
        if value is None:
            return "—"
        return str(_pattern(decimals).apply(value, self.locale))

    def date(self, value: date | datetime | None) -> str:
        if value is None:
            return "—"
        return str(format_date(value, format="long", locale=self.locale))
