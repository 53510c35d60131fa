"""A realistic demo dataset: Finland's wellbeing services counties, their networks and answers.

``create_demo_data`` plans regions, periods, networks and organisations from a
seed, generates answers that follow plausible patterns (networks that improve,
networks that struggle, stage 1 ahead of stage 4, NGOs that see trust
differently from municipalities) and writes them through ``import_frame``, the
same path a survey tool's CSV export takes. Everything random comes from one
numpy Generator per seed, so a seed always gives the same data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth import hash_password
from ..models import Network, Organization, Period, Region, Round, User
from ..models.survey import OPEN
from ..questionnaire import Questionnaire, QuestionnaireError
from .accounts import create_user, find_user
from .imports import DONT_KNOW, import_frame
from .questionnaires import definition_of, find_version

QUESTIONNAIRE = "network-maturity"
#: Every demo login shares this password; it is printed by `assess demo-data` and is
#: for demo installations only, never for a database with real answers.
DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - documented demo-only password
DEMO_DOMAIN = "demo.assess"

#: Shares of likert cells left empty and answered "don't know".
EMPTY_SHARE = 0.03
DONT_KNOW_SHARE = 0.04
#: Share of respondents who write something in a text item.
TEXT_SHARE = 0.30
#: Share of networks whose rounds of the current period are still open.
OPEN_SHARE = 0.25
#: Share of network rounds with only 3-4 respondents (suppressed at k = 5).
SMALL_ROUND_SHARE = 0.06
#: Share of networks that joined after the first period.
LATE_JOINER_SHARE = 0.25


class DemoError(ValueError):
    """The demo data cannot be created; the message says why."""


# -- static data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionSpec:
    name: str
    code: str
    #: Inhabitants in thousands (rounded); weights how many networks a region gets.
    population: int
    #: English name of the area, used in network names ("Tampere region").
    area: str
    #: Municipalities (for Helsinki: districts); the first is the regional centre.
    places: tuple[str, ...]


REGIONS: tuple[RegionSpec, ...] = (
    RegionSpec("Itä-Uudenmaan hyvinvointialue", "ITU", 99, "East Uusimaa",
               ("Porvoo", "Loviisa", "Sipoo", "Askola", "Myrskylä", "Lapinjärvi", "Pukkila")),
    RegionSpec("Keski-Uudenmaan hyvinvointialue", "KU", 201, "Central Uusimaa",
               ("Hyvinkää", "Järvenpää", "Tuusula", "Nurmijärvi", "Mäntsälä", "Pornainen")),
    RegionSpec("Länsi-Uudenmaan hyvinvointialue", "LU", 482, "West Uusimaa",
               ("Espoo", "Kirkkonummi", "Lohja", "Raasepori", "Vihti", "Kauniainen",
                "Siuntio", "Inkoo", "Hanko", "Karkkila")),
    RegionSpec("Vantaan ja Keravan hyvinvointialue", "VAKE", 283, "Vantaa and Kerava",
               ("Vantaa", "Kerava", "Tikkurila", "Myyrmäki", "Korso", "Hakunila")),
    RegionSpec("Varsinais-Suomen hyvinvointialue", "VS", 485, "Turku region",
               ("Turku", "Salo", "Kaarina", "Raisio", "Naantali", "Uusikaupunki", "Lieto",
                "Loimaa", "Parainen")),
    RegionSpec("Satakunnan hyvinvointialue", "SATA", 214, "Satakunta",
               ("Pori", "Rauma", "Ulvila", "Kankaanpää", "Eura", "Huittinen", "Harjavalta")),
    RegionSpec("Kanta-Hämeen hyvinvointialue", "KH", 170, "Kanta-Häme",
               ("Hämeenlinna", "Riihimäki", "Forssa", "Janakkala", "Hattula", "Loppi")),
    RegionSpec("Pirkanmaan hyvinvointialue", "PIR", 530, "Tampere region",
               ("Tampere", "Nokia", "Ylöjärvi", "Kangasala", "Lempäälä", "Pirkkala",
                "Valkeakoski", "Sastamala", "Orivesi")),
    RegionSpec("Päijät-Hämeen hyvinvointialue", "PH", 205, "Lahti region",
               ("Lahti", "Heinola", "Hollola", "Orimattila", "Asikkala", "Sysmä")),
    RegionSpec("Kymenlaakson hyvinvointialue", "KYM", 162, "Kymenlaakso",
               ("Kouvola", "Kotka", "Hamina", "Pyhtää", "Virolahti", "Miehikkälä")),
    RegionSpec("Etelä-Karjalan hyvinvointialue", "EK", 126, "South Karelia",
               ("Lappeenranta", "Imatra", "Lemi", "Luumäki", "Parikkala", "Rautjärvi",
                "Ruokolahti", "Taipalsaari")),
    RegionSpec("Etelä-Savon hyvinvointialue", "ES", 131, "South Savo",
               ("Mikkeli", "Savonlinna", "Pieksämäki", "Juva", "Kangasniemi", "Mäntyharju")),
    RegionSpec("Pohjois-Savon hyvinvointialue", "PS", 248, "North Savo",
               ("Kuopio", "Iisalmi", "Varkaus", "Siilinjärvi", "Suonenjoki", "Leppävirta")),
    RegionSpec("Pohjois-Karjalan hyvinvointialue", "PK", 164, "North Karelia",
               ("Joensuu", "Kitee", "Lieksa", "Nurmes", "Outokumpu", "Kontiolahti", "Liperi")),
    RegionSpec("Keski-Suomen hyvinvointialue", "KS", 275, "Central Finland",
               ("Jyväskylä", "Äänekoski", "Jämsä", "Laukaa", "Keuruu", "Saarijärvi", "Muurame")),
    RegionSpec("Etelä-Pohjanmaan hyvinvointialue", "EP", 191, "South Ostrobothnia",
               ("Seinäjoki", "Lapua", "Kauhava", "Kurikka", "Alavus", "Ilmajoki", "Kauhajoki")),
    RegionSpec("Pohjanmaan hyvinvointialue", "POH", 176, "Ostrobothnia",
               ("Vaasa", "Mustasaari", "Pietarsaari", "Kristiinankaupunki", "Närpiö",
                "Uusikaarlepyy", "Kaskinen")),
    RegionSpec("Keski-Pohjanmaan hyvinvointialue", "KP", 76, "Central Ostrobothnia",
               ("Kokkola", "Kannus", "Kaustinen", "Perho", "Veteli", "Toholampi")),
    RegionSpec("Pohjois-Pohjanmaan hyvinvointialue", "PP", 417, "Oulu region",
               ("Oulu", "Raahe", "Kempele", "Kuusamo", "Ylivieska", "Kalajoki", "Liminka",
                "Nivala")),
    RegionSpec("Kainuun hyvinvointialue", "KAI", 71, "Kainuu",
               ("Kajaani", "Kuhmo", "Sotkamo", "Suomussalmi", "Paltamo", "Hyrynsalmi")),
    RegionSpec("Lapin hyvinvointialue", "LAP", 176, "Lapland",
               ("Rovaniemi", "Tornio", "Kemi", "Kemijärvi", "Sodankylä", "Inari", "Kittilä")),
    RegionSpec("Helsingin kaupunki", "HEL", 675, "Helsinki",
               ("Helsinki", "Kallio", "Vuosaari", "Malmi", "Kannelmäki", "Itäkeskus",
                "Lauttasaari", "Pasila", "Herttoniemi", "Kontula", "Myllypuro")),
)

#: Places that are towns or cities ("City of X"); the others are "X municipality".
CITIES = frozenset(
    {"Porvoo", "Loviisa", "Hyvinkää", "Järvenpää", "Espoo", "Lohja", "Raasepori", "Kauniainen",
     "Hanko", "Karkkila", "Vantaa", "Kerava", "Turku", "Salo", "Kaarina", "Raisio", "Naantali",
     "Uusikaupunki", "Loimaa", "Parainen", "Pori", "Rauma", "Ulvila", "Kankaanpää",
     "Huittinen", "Harjavalta", "Hämeenlinna", "Riihimäki", "Forssa", "Tampere", "Nokia",
     "Ylöjärvi", "Kangasala", "Valkeakoski", "Sastamala", "Orivesi", "Lahti", "Heinola",
     "Orimattila", "Kouvola", "Kotka", "Hamina", "Lappeenranta", "Imatra", "Mikkeli",
     "Savonlinna", "Pieksämäki", "Kuopio", "Iisalmi", "Varkaus", "Suonenjoki", "Joensuu",
     "Kitee", "Lieksa", "Nurmes", "Outokumpu", "Jyväskylä", "Äänekoski", "Jämsä", "Keuruu",
     "Saarijärvi", "Seinäjoki", "Lapua", "Kauhava", "Kurikka", "Alavus", "Kauhajoki", "Vaasa",
     "Pietarsaari", "Kristiinankaupunki", "Närpiö", "Uusikaarlepyy", "Kaskinen", "Kokkola",
     "Kannus", "Oulu", "Raahe", "Kuusamo", "Ylivieska", "Kalajoki", "Nivala", "Kajaani",
     "Kuhmo", "Rovaniemi", "Tornio", "Kemi", "Kemijärvi", "Helsinki"}
)

#: Places in the lists above that are districts of a city, not municipalities.
DISTRICTS = frozenset({"Tikkurila", "Myyrmäki", "Korso", "Hakunila", "Kallio", "Vuosaari",
                       "Malmi", "Kannelmäki", "Itäkeskus", "Lauttasaari", "Pasila",
                       "Herttoniemi", "Kontula", "Myllypuro"})

#: Theme -> (network name templates, descriptions); {where} is an area or a place.
THEMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "elderly care": (
        ("Elderly care network {where}", "Memory-friendly {where}",
         "Ageing well at home, {where}", "Informal carers' support network {where}"),
        ("Municipalities, the wellbeing services county, NGOs and parishes working together so "
         "that older people in {where} can live safely at home.",
         "Coordinates elderly care services, day activities and support for informal carers "
         "in {where}."),
    ),
    "child and family services": (
        ("Child and family services network {where}", "Family centre network {where}",
         "Early support for families, {where}", "School wellbeing network {where}"),
        ("Brings together maternity and child health clinics, schools, family work and NGOs "
         "to offer families early support in {where}.",
         "A family centre network that joins up services for children, young people and "
         "parents in {where}."),
    ),
    "mental health and substance abuse services": (
        ("Mental health and substance abuse services {where}",
         "Low-threshold mental health network {where}",
         "Youth mental health partnership {where}"),
        ("Mental health and substance abuse services, NGOs and peer support groups agree on "
         "low-threshold care paths in {where}.",
         "Works to shorten the wait for mental health support and to connect substance abuse "
         "services with the third sector in {where}."),
    ),
    "employment and integration services": (
        ("Employment and integration services {where}", "Immigrant integration network {where}",
         "Youth employment partnership {where}"),
        ("Employment services, Kela, educational institutions and NGOs help the long-term "
         "unemployed and immigrants into work and society in {where}.",
         "Coordinates integration, language training and work try-outs in {where}."),
    ),
    "home care": (
        ("Rural home care {where}", "Home care and home nursing {where}",
         "Home care digital services {where}"),
        ("Public and private home care providers plan routes, staffing and remote care "
         "together in {where}.",
         "Keeps home care reliable in sparsely populated parts of {where}."),
    ),
    "disability services": (
        ("Disability services {where}", "Independent living network {where}",
         "Supported housing network {where}"),
        ("Disability services, housing providers and disability organisations work on "
         "independent living and inclusion in {where}.",
         "Coordinates personal assistance, supported housing and day activities in {where}."),
    ),
    "health promotion": (
        ("Health promotion {where}", "Physical activity network {where}",
         "Loneliness prevention network {where}"),
        ("Municipalities, sports clubs, parishes and NGOs promote health and wellbeing and "
         "prevent loneliness in {where}.",
         "Joins up health promotion work of municipalities and the wellbeing services county "
         "in {where}."),
    ),
    "homelessness prevention": (
        ("Housing First network {where}", "Homelessness prevention {where}"),
        ("Social work, housing companies and NGOs prevent evictions and find homes for the "
         "homeless in {where}.",),
    ),
}
THEME_WEIGHTS = {
    "elderly care": 0.22, "child and family services": 0.18,
    "mental health and substance abuse services": 0.15,
    "employment and integration services": 0.12, "home care": 0.1,
    "disability services": 0.09, "health promotion": 0.09, "homelessness prevention": 0.05,
}

#: Organisation name templates by type; {place} is a municipality, {area} the region's area.
ORGANIZATION_NAMES: dict[str, tuple[str, ...]] = {
    "ngo": (
        "Mannerheim League for Child Welfare, {place} local chapter",
        "Finnish Red Cross, {place} branch", "Mental health association of {place}",
        "{place} pensioners' association", "Martha organisation, {place}",
        "Association of people with disabilities in {place}",
        "Multicultural association of {place}",
        "EHYT Finnish Association for Substance Abuse Prevention, {area}",
        "{place} sports club", "Single parents' association of {place}",
        "Memory association of {area}", "Village association of {place}",
    ),
    "company": (
        "Care company Oy", "{place} Home Services Oy", "Hoivakoti Kotiranta Oy", "Arjen Apu Oy",
        "Senioripalvelut {place} Oy", "Kuntoutuskeskus {place} Oy", "Työvalmennus Polku Oy",
        "Terapiatalo {place} Oy",
    ),
    "parish": ("Parish of {place}", "Orthodox parish of {area}"),
    "state_agency": (
        "Kela regional office", "Regional State Administrative Agency (AVI)",
        "ELY Centre of {area}", "Police of {area}",
        "Criminal Sanctions Agency, {area} community sanctions office",
        "Finnish Immigration Service, {area} unit",
    ),
    "other": (
        "Vocational college of {area}", "{place} housing foundation", "Regional council of {area}",
        "{place} adult education centre",
    ),
}
MUNICIPAL_UNITS = ("social services", "youth services", "education and learning",
                   "sports services", "employment services")
HELSINKI_DIVISIONS = (
    "City of Helsinki, Social Services, Health Care and Rescue Services",
    "City of Helsinki, Culture and Leisure", "City of Helsinki, Education",
    "City of Helsinki, Urban Environment", "City of Helsinki, Employment Services",
)
#: Types drawn for the organisations after the first three (county, municipality, NGO).
TYPE_WEIGHTS = {"municipality": 0.24, "ngo": 0.3, "company": 0.15, "parish": 0.08,
                "state_agency": 0.13, "other": 0.1}

#: Answers to the text items.
TEXT_ANSWERS = (
    "More time for joint meetings would help.",
    "We need a shared way to follow up our goals.",
    "Clearer roles between the municipality and the county.",
    "The NGOs should be heard earlier in decisions.",
    "A coordinator with dedicated working hours.",
    "Shared data on the clients we serve together.",
    "Less turnover of the people who represent each organisation.",
    "Funding that does not depend on one project.",
    "Examples from other networks of how they work.",
    "Meeting in person now and then, not only online.",
    "An agreed order for how decisions are prepared and taken.",
    "Telling our own organisations more about what the network achieves.",
    "Fewer goals, but ones that everyone commits to.",
    "Training in negotiation for the network leaders.",
)

#: Latent means (on the 1..5 answer scale) per network profile and dimension.
STAGE_OFFSETS = {1: 0.45, 2: 0.1, 3: -0.25, 4: -0.6}
THEME_OFFSETS = {"trust": 0.15, "negotiation": 0.0, "shared-goals": 0.1}
PROFILES = ("typical", "improving", "struggling", "established")
PROFILE_WEIGHTS = (0.45, 0.25, 0.15, 0.15)
STRUGGLING_OFFSETS = {"stage-2": -0.6, "stage-3": -0.7, "stage-4": -0.4, "trust": -0.75,
                      "negotiation": -0.5}
ESTABLISHED_OFFSETS = {"stage-3": 0.15, "stage-4": 0.3}
#: How much lower a divergent actor type rates these dimensions than the others.
DIVERGENT_OFFSETS = {"trust": -1.1, "negotiation": -1.0, "shared-goals": -0.4}


# -- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodSpec:
    label: str
    starts_on: date
    ends_on: date
    #: The survey window of the period's rounds; submissions fall inside it.
    opens_on: date
    closes_on: date


@dataclass
class NetworkPlan:
    name: str
    region: RegionSpec
    theme: str
    description: str
    #: (name, type) of each organisation.
    organizations: list[tuple[str, str]]
    profile: str
    #: The actor type that rates trust and negotiation much lower, if any.
    divergent_type: str | None
    #: Period index -> respondents planned for that round; missing periods = not joined yet.
    rounds: dict[int, int]


@dataclass
class DemoPlan:
    """Everything decided before any answer is drawn: pure data, no database."""

    seed: int
    today: date
    periods: list[PeriodSpec]
    networks: list[NetworkPlan]
    #: Indices of the networks whose round in the last period is still open.
    open_networks: set[int]
    #: Indices of the networks given leader logins: the first has the most rounds.
    leader_networks: list[int]


def demo_periods(count: int, today: date) -> list[PeriodSpec]:
    """``count`` half-year waves, oldest first, ending with the one that has started by today.

    Spring runs March to May, autumn September to December; rounds are open from
    the 15th of the first month until mid-May or mid-November.
    """
    year, autumn = (today.year, True) if today.month >= 9 else (
        (today.year, False) if today.month >= 3 else (today.year - 1, True)
    )
    waves = []
    for _ in range(count):
        waves.append((year, autumn))
        year, autumn = (year, False) if autumn else (year - 1, True)
    periods = []
    for year, autumn in reversed(waves):
        if autumn:
            starts, ends = date(year, 9, 1), date(year, 12, 31)
            opens, closes = date(year, 9, 15), date(year, 11, 15)
        else:
            starts, ends = date(year, 3, 1), date(year, 5, 31)
            opens, closes = date(year, 3, 15), date(year, 5, 10)
        label = f"{year}-{'autumn' if autumn else 'spring'}"
        periods.append(PeriodSpec(label, starts, ends, opens, closes))
    return periods


#: Networks every region gets first when there are enough for all: the national view
#: hides a region with fewer than 3 (methodology rule 13), which a demo should not show
#: for nearly every region.
SHOWN_REGION_MINIMUM = 3


def _allocate(count: int, rng: np.random.Generator) -> list[int]:
    """Networks per region: three each (when there are enough, else one each), the rest
    by population."""
    population = np.array([r.population for r in REGIONS], dtype=float)
    if count < len(REGIONS):
        chosen = rng.choice(len(REGIONS), count, replace=False, p=population / population.sum())
        return np.bincount(chosen, minlength=len(REGIONS)).tolist()
    base = SHOWN_REGION_MINIMUM if count >= SHOWN_REGION_MINIMUM * len(REGIONS) else 1
    rest = count - base * len(REGIONS)
    quota = rest * population / population.sum()
    extra = np.floor(quota).astype(int)
    # Largest remainders get the networks left over: deterministic, population-led.
    leftover = rest - int(extra.sum())
    extra[np.argsort(-(quota - extra), kind="stable")[:leftover]] += 1
    return (base + extra).tolist()


def _municipality_names(region: RegionSpec) -> list[str]:
    if region.code == "HEL":
        return list(HELSINKI_DIVISIONS)
    names = [f"City of {p}" if p in CITIES else f"{p} municipality"
             for p in region.places if p not in DISTRICTS]
    names += [f"{names[0]}, {unit}" for unit in MUNICIPAL_UNITS]
    return names


def _plan_organizations(
    region: RegionSpec, rng: np.random.Generator, divergent: str | None
) -> list[tuple[str, str]]:
    size = int(rng.integers(5, 13))
    types = ["wellbeing_county", "municipality", "ngo"]
    if divergent:
        types.append(divergent)  # two of the divergent type, so the gap shows
    weights = np.array(list(TYPE_WEIGHTS.values()))
    drawn = rng.choice(list(TYPE_WEIGHTS), size - len(types), p=weights / weights.sum())
    types += [str(t) for t in drawn]
    places = list(region.places[1:] if region.code == "HEL" else region.places)
    municipalities = _municipality_names(region)
    county = "HUS Helsinki University Hospital" if region.code == "HEL" else region.name
    organizations: list[tuple[str, str]] = []
    used: set[str] = set()
    for kind in types:
        if kind == "wellbeing_county":
            candidates = [county]
        elif kind == "municipality":
            # Mostly the regional centre and its neighbours: their first entries come first.
            candidates = municipalities[: 2 + int(rng.integers(0, 3))]
            candidates = [*rng.permutation(candidates).tolist(), *municipalities]
        else:
            templates = rng.permutation(list(ORGANIZATION_NAMES[kind])).tolist()
            candidates = [
                t.format(place=places[int(rng.integers(0, len(places)))], area=region.area)
                for t in templates
            ]
        name = next((c for c in candidates if c not in used), None)
        if name is None:
            continue  # every name of this type is taken already: one organisation fewer
        used.add(name)
        organizations.append((name, kind))
    return organizations


def plan_demo(
    seed: int = 1, networks: int = 80, periods: int = 4, today: date | None = None,
    size_factor: float = 1.0,
) -> DemoPlan:
    """Decide regions, periods, networks, organisations and round sizes from ``seed``."""
    if networks < 1:
        raise DemoError("the demo needs at least one network")
    if periods < 1:
        raise DemoError("the demo needs at least one period")
    today = today or date.today()
    rng = np.random.default_rng([seed, 0])
    period_specs = demo_periods(periods, today)
    theme_names = list(THEME_WEIGHTS)
    theme_p = np.array(list(THEME_WEIGHTS.values()))
    theme_p = theme_p / theme_p.sum()

    plans: list[NetworkPlan] = []
    names: set[str] = set()
    for region, count in zip(REGIONS, _allocate(networks, rng), strict=True):
        for _ in range(count):
            theme = theme_names[int(rng.choice(len(theme_names), p=theme_p))]
            templates, descriptions = THEMES[theme]
            wheres = [region.area, *rng.permutation(list(region.places)).tolist()]
            options = [(t.format(where=w), w) for w in wheres
                       for t in rng.permutation(list(templates)).tolist()]
            name, where = next((o for o in options if o[0] not in names), (None, region.area))
            number = 2
            while name is None:
                candidate = f"{options[0][0]} {number}"
                name = candidate if candidate not in names else None
                number += 1
            names.add(name)
            description = descriptions[int(rng.integers(0, len(descriptions)))]
            profile = PROFILES[int(rng.choice(len(PROFILES), p=PROFILE_WEIGHTS))]
            divergent = None
            if rng.random() < 0.2:
                divergent = ("ngo", "ngo", "ngo", "company", "parish")[int(rng.integers(0, 5))]
            organizations = _plan_organizations(region, rng, divergent)
            first = 0
            if periods > 1 and rng.random() < LATE_JOINER_SHARE:
                first = int(rng.integers(1, periods))
            base = len(organizations) * 1.5
            sizes = np.clip(np.rint((base + rng.normal(0, 2.5, periods)) * size_factor),
                            6, 20 * size_factor).astype(int)
            plans.append(
                NetworkPlan(
                    name=name,
                    region=region,
                    theme=theme,
                    description=description.format(where=where),
                    organizations=organizations,
                    profile=profile,
                    divergent_type=divergent,
                    rounds={p: int(sizes[p]) for p in range(first, periods)},
                )
            )

    # A few rounds with 3-4 respondents, so the demo shows suppression.
    keys = [(n, p) for n, plan in enumerate(plans) for p in plan.rounds]
    small_count = max(1, round(SMALL_ROUND_SHARE * len(keys))) if len(keys) >= 4 else 0
    for index in rng.choice(len(keys), small_count, replace=False):
        n, p = keys[int(index)]
        plans[n].rounds[p] = int(rng.integers(3, 5))

    open_count = max(1, round(OPEN_SHARE * networks)) if networks >= 2 else 0
    open_networks = {int(i) for i in rng.choice(networks, open_count, replace=False)}
    return DemoPlan(seed, today, period_specs, plans, open_networks,
                    _leader_networks(plans, open_networks))


def _leader_networks(plans: list[NetworkPlan], open_networks: set[int]) -> list[int]:
    """The network with the most rounds (closed, none suppressed, improving if possible),
    one with an open round and one that struggles or disagrees, in that order."""

    def suppressed(n: int) -> bool:
        return any(size < 5 for size in plans[n].rounds.values())

    ranked = sorted(
        range(len(plans)),
        key=lambda n: (-len(plans[n].rounds), n in open_networks, suppressed(n),
                       plans[n].profile != "improving", n),
    )
    chosen = ranked[:1]
    second = [n for n in ranked if n in open_networks and n not in chosen]
    chosen += second[:1]
    third = [n for n in ranked if n not in chosen and (
        plans[n].profile == "struggling" or plans[n].divergent_type)]
    third = third or [n for n in ranked if n not in chosen]
    chosen += third[:1]
    return chosen


# -- the answers ------------------------------------------------------------------------------


def _latent_means(questionnaire: Questionnaire, plan: DemoPlan, rng: np.random.Generator):
    """Latent answer means, networks x periods x dimensions, on the positive 1..5 scale."""
    dims = questionnaire.dimensions
    n_net, n_per, n_dim = len(plan.networks), len(plan.periods), len(dims)
    offsets = np.array([
        STAGE_OFFSETS.get(d.stage or 0, 0.0) if d.kind == "stage" else THEME_OFFSETS.get(d.id, 0.0)
        for d in dims
    ])
    stage_weight = np.array([1.3 if d.kind == "stage" and (d.stage or 0) >= 3 else 1.0
                             for d in dims])
    base = rng.normal(3.35, 0.3, n_net)[:, None] + offsets + rng.normal(0, 0.18, (n_net, n_dim))
    drift = rng.normal(0.03, 0.08, (n_net, n_per)).cumsum(axis=1)
    latent = base[:, None, :] + drift[:, :, None]
    slope = rng.uniform(0.22, 0.35, n_net)
    for n, network in enumerate(plan.networks):
        first = min(network.rounds)
        if network.profile == "improving":
            steps = np.maximum(np.arange(n_per) - first, 0)
            latent[n] += -0.35 + slope[n] * steps[:, None] * stage_weight
        elif network.profile == "struggling":
            latent[n] += -0.25 + np.array([STRUGGLING_OFFSETS.get(d.id, 0.0) for d in dims])
            latent[n] -= 2 * drift[n][:, None]  # they drift down, not up
        elif network.profile == "established":
            latent[n] += 0.35 + np.array([ESTABLISHED_OFFSETS.get(d.id, 0.0) for d in dims])
    return np.clip(latent, 1.2, 4.8)


def _respondent_rows(plan: DemoPlan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One entry per respondent: network, period, organisation and submission time."""
    network_ix, period_ix, org_names, org_types, diverge, submitted = [], [], [], [], [], []
    for n, network in enumerate(plan.networks):
        names = np.array([name for name, _ in network.organizations] + [""], dtype=object)
        types = np.array([kind for _, kind in network.organizations] + [""], dtype=object)
        n_org = len(network.organizations)
        for p, planned in sorted(network.rounds.items()):
            without = int(rng.binomial(planned, 0.05)) if planned >= 6 else 0
            with_org = min(planned - without, 4 * n_org)
            # Each taking part organisation answers 1-4 times.
            taking_part = int(rng.integers(math.ceil(with_org / 4), min(n_org, with_org) + 1))
            chosen = rng.choice(n_org, taking_part, replace=False)
            slots = np.repeat(chosen, 3)
            extra = rng.choice(len(slots), with_org - taking_part, replace=False)
            orgs = np.concatenate([chosen, slots[extra], np.full(without, n_org)])
            count = len(orgs)
            network_ix.append(np.full(count, n))
            period_ix.append(np.full(count, p))
            org_names.append(names[orgs])
            org_types.append(types[orgs])
            diverge.append(types[orgs] == network.divergent_type)
            submitted.append(_submission_times(plan, p, count, rng))
    return {
        "network": np.concatenate(network_ix),
        "period": np.concatenate(period_ix),
        "organization": np.concatenate(org_names),
        "organization_type": np.concatenate(org_types),
        "divergent": np.concatenate(diverge).astype(bool),
        "submitted_at": np.concatenate(submitted),
    }


def _submission_times(plan: DemoPlan, p: int, count: int, rng: np.random.Generator):
    period = plan.periods[p]
    first = period.opens_on
    last = min(period.closes_on, plan.today - timedelta(days=1))
    if last < first:  # the wave has only just begun
        first = last = max(period.starts_on, plan.today - timedelta(days=1))
    days = rng.integers(0, (last - first).days + 1, count)
    seconds = rng.integers(8 * 3600, 18 * 3600, count)  # office hours, mostly
    return (np.datetime64(first, "s") + days * np.timedelta64(1, "D")
            + seconds * np.timedelta64(1, "s"))


def build_response_frame(questionnaire: Questionnaire, plan: DemoPlan) -> pd.DataFrame:
    """The plan's answers as a table of string cells laid out like the import CSV.

    Each respondent answers around a latent mean of the network, period and
    dimension, plus a personal tendency and item noise; reverse items are
    mirrored, so a respondent who trusts the others disagrees with "actors put
    their own interests first". Vectorised over all respondents at once.
    """
    rng = np.random.default_rng([plan.seed, 1])
    rows = _respondent_rows(plan, rng)
    count = len(rows["network"])
    latent = _latent_means(questionnaire, plan, rng)[rows["network"], rows["period"]]
    dims = questionnaire.dimensions
    divergent = np.array([DIVERGENT_OFFSETS.get(d.id, 0.0) for d in dims])
    latent = latent + np.outer(rows["divergent"], divergent)
    latent += rng.normal(0, 0.35, (count, 1)) + rng.normal(0, 0.25, (count, len(dims)))

    scale = questionnaire.scale
    likert = [(i, item) for i, d in enumerate(dims) for item in d.likert_items]
    dim_of_item = np.array([i for i, _ in likert])
    item_offset = rng.normal(0, 0.2, len(likert))
    drawn = latent[:, dim_of_item] + item_offset + rng.normal(0, 0.65, (count, len(likert)))
    values = np.clip(np.rint(drawn), scale.min, scale.max).astype(int)
    reverse = np.array([item.reverse for _, item in likert])
    values = np.where(reverse, scale.min + scale.max - values, values)
    # Codes: 0 = empty, 1 = don't know, 2.. = scale values.
    labels = np.array(["", DONT_KNOW, *(str(v) for v in range(scale.min, scale.max + 1))],
                      dtype=object)
    codes = values - scale.min + 2
    chance = rng.random(codes.shape)
    codes = np.where(chance < EMPTY_SHARE, 0, codes)
    if scale.dont_know:
        codes = np.where((chance >= EMPTY_SHARE) & (chance < EMPTY_SHARE + DONT_KNOW_SHARE), 1,
                         codes)
    cells = labels[codes]

    network_names = np.array([n.name for n in plan.networks], dtype=object)
    region_names = np.array([n.region.name for n in plan.networks], dtype=object)
    period_labels = np.array([p.label for p in plan.periods], dtype=object)
    columns: dict[str, np.ndarray] = {
        "region": region_names[rows["network"]],
        "network": network_names[rows["network"]],
        "period": period_labels[rows["period"]],
        "respondent": np.array([str(100001 + i) for i in range(count)], dtype=object),
        "organization": rows["organization"],
        "organization_type": rows["organization_type"],
        "submitted_at": np.datetime_as_string(rows["submitted_at"], unit="s").astype(object),
    }
    texts = np.array(["", *TEXT_ANSWERS], dtype=object)
    likert_column = {item.id: j for j, (_, item) in enumerate(likert)}
    for item in questionnaire.items:
        if item.id in likert_column:
            columns[item.id] = cells[:, likert_column[item.id]]
        else:
            writes = rng.random(count) < TEXT_SHARE
            picks = rng.integers(1, len(texts), count)
            columns[item.id] = texts[np.where(writes, picks, 0)]
    return pd.DataFrame(columns)


# -- the database -----------------------------------------------------------------------------


@dataclass
class DemoSummary:
    regions: int
    networks: int
    organisations: int
    periods: int
    rounds: int
    responses: int
    #: (email, role, scope): the scope is a network or region name, or "national".
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    password: str = DEMO_PASSWORD

    def format(self) -> str:
        """The text `assess demo-data` prints: what was made and how to log in."""
        lines = [
            f"Created demo data: {self.regions} regions, {self.networks} networks, "
            f"{self.organisations} organisations, {self.periods} periods, {self.rounds} rounds, "
            f"{self.responses} responses.",
            "",
            f"Demo logins, all with the password '{self.password}' "
            "(for demo installations only):",
            "",
        ]
        width = max([len("email"), *(len(e) for e, _, _ in self.logins)])
        role_width = max([len("role"), *(len(r) for _, r, _ in self.logins)])
        lines.append(f"  {'email':<{width}}  {'role':<{role_width}}  scope")
        lines.append(f"  {'-' * width}  {'-' * role_width}  {'-' * 5}")
        for email, role, scope in self.logins:
            lines.append(f"  {email:<{width}}  {role:<{role_width}}  {scope}")
        return "\n".join(lines)


def database_is_empty(session: Session) -> bool:
    """True when there are neither networks nor users: `demo-data --if-empty` may run."""
    return (session.scalar(select(Network.id).limit(1)) is None
            and session.scalar(select(User.id).limit(1)) is None)


def _demo_logins(plan: DemoPlan) -> list[tuple[str, str, str | None, str | None, str]]:
    """(email, role, network name, region name, language) of every demo user."""
    logins: list[tuple[str, str, str | None, str | None, str]] = [
        (f"admin@{DEMO_DOMAIN}", "admin", None, None, "sv"),
        (f"analyst@{DEMO_DOMAIN}", "analyst", None, None, "sv"),
    ]
    for number, region in enumerate(REGIONS[:2], start=1):
        logins.append((f"coordinator{number}@{DEMO_DOMAIN}", "coordinator", None, region.name,
                       "sv"))
    languages = ("sv", "fi", "en")
    for number, n in enumerate(plan.leader_networks, start=1):
        logins.append((f"leader{number}@{DEMO_DOMAIN}", "leader", plan.networks[n].name, None,
                       languages[number - 1]))
    if plan.leader_networks:
        # Members belong to a network with an open round, so they have a survey to answer.
        answering = [n for n in plan.leader_networks if n in plan.open_networks]
        network = plan.networks[(answering or plan.leader_networks)[0]].name
        for number in range(1, 4):
            logins.append((f"member{number}@{DEMO_DOMAIN}", "member", network, None, "sv"))
    return logins


def create_demo_data(
    session: Session,
    seed: int = 1,
    networks: int = 80,
    periods: int = 4,
    default_k: int = 5,
    *,
    today: date | None = None,
    size_factor: float = 1.0,
) -> DemoSummary:
    """Fill an empty database with a realistic, reproducible demo dataset (the caller commits).

    Needs the questionnaire 'network-maturity' loaded. Rounds are closed, except
    those of about a quarter of the networks in the current period, which are
    still open with the answers received so far.
    """
    try:
        qrow = find_version(session, QUESTIONNAIRE)
    except QuestionnaireError:
        raise DemoError(
            f"the questionnaire '{QUESTIONNAIRE}' is not loaded; run "
            "`assess questionnaires load` first"
        ) from None
    if session.scalar(select(Network.id).limit(1)) is not None:
        raise DemoError("the database already has data (networks); the demo needs an empty one")
    plan = plan_demo(seed, networks, periods, today, size_factor)
    logins = _demo_logins(plan)
    taken = [email for email, *_ in logins if find_user(session, email) is not None]
    if taken:
        raise DemoError(f"the database already has data (users such as {taken[0]})")

    regions = _regions(session)
    for spec in plan.periods:
        period = session.scalar(select(Period).where(Period.label == spec.label))
        if period is None:
            session.add(Period(label=spec.label, starts_on=spec.starts_on, ends_on=spec.ends_on))
        elif period.starts_on is None:
            period.starts_on, period.ends_on = spec.starts_on, spec.ends_on
    organisations = 0
    for network in plan.networks:
        session.add(Network(
            name=network.name, region=regions[network.region.name], theme=network.theme,
            description=network.description,
            organizations=[Organization(name=name, type=kind)
                           for name, kind in network.organizations],
        ))
        organisations += len(network.organizations)
    session.flush()

    frame = build_response_frame(definition_of(qrow), plan)
    imported = import_frame(session, frame, QUESTIONNAIRE, None, default_k)
    _set_round_windows(session, plan, qrow.id)

    password_hash = hash_password(DEMO_PASSWORD)  # hashed once: scrypt is slow on purpose
    summary_logins = []
    for email, role, network_name, region_name, language in logins:
        user = create_user(session, email, None, role, network_name, region_name, language)
        user.password_hash = password_hash
        summary_logins.append((email, role, network_name or region_name or "national"))
    session.flush()
    return DemoSummary(
        regions=len(REGIONS), networks=len(plan.networks), organisations=organisations,
        periods=len(plan.periods), rounds=imported.rounds, responses=imported.responses,
        logins=summary_logins,
    )


def _regions(session: Session) -> dict[str, Region]:
    existing = {r.name: r for r in session.scalars(select(Region))}
    for spec in REGIONS:
        region = existing.get(spec.name)
        if region is None:
            region = existing[spec.name] = Region(name=spec.name)
            session.add(region)
        region.code = region.code or spec.code
    return existing


def _set_round_windows(session: Session, plan: DemoPlan, questionnaire_id: int) -> None:
    """Survey windows on every round; the current period's open rounds run until mid-December."""
    by_label = {p.label: p for p in plan.periods}
    periods = {p.id: by_label[p.label]
               for p in session.scalars(select(Period).where(Period.label.in_(by_label)))}
    open_names = {plan.networks[n].name for n in plan.open_networks}
    open_ids = set(session.scalars(select(Network.id).where(Network.name.in_(open_names))))
    last = plan.periods[-1]
    open_closes = last.ends_on - timedelta(days=16)
    if open_closes <= plan.today:
        open_closes = plan.today + timedelta(days=14)
    rounds = session.scalars(
        select(Round).where(Round.questionnaire_id == questionnaire_id,
                            Round.period_id.in_(periods))
    )
    for round_ in rounds:
        spec = periods[round_.period_id]
        round_.opens_on, round_.closes_on = spec.opens_on, spec.closes_on
        if spec is last and round_.network_id in open_ids:
            round_.state = OPEN
            round_.closes_on = open_closes
    session.flush()


__all__ = [
    "DEMO_PASSWORD",
    "REGIONS",
    "DemoError",
    "DemoPlan",
    "DemoSummary",
    "build_response_frame",
    "create_demo_data",
    "database_is_empty",
    "plan_demo",
]


def demo_logins_text(session: Session) -> str:
    """The demo logins found in the database, for `make demo` on an existing database."""
    from ..models import User

    users = session.scalars(
        select(User).where(User.email.like(f"%@{DEMO_DOMAIN}")).order_by(User.email)
    ).all()
    if not users:
        return "No demo logins in this database."
    lines = [f"Demo logins (password: {DEMO_PASSWORD}):"]
    for user in users:
        roles = ", ".join(sorted(user.role_names)) or "no role"
        lines.append(f"  {user.email:<28} {roles}")
    return "\n".join(lines)
