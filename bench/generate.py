"""Generate a synthetic organisation for benchmarks: a strategy file and its measurements.

Deterministic (same arguments and seed, same bytes), standard library only, and fast: the YAML
is written by hand, not by a YAML library, so that 100,000 KPIs take seconds.

    .venv/bin/python bench/generate.py --kpis 100000 --units 20000 --months 36 --out /tmp/org100k
    .venv/bin/python bench/generate.py --preset small --out /tmp/org10k

The shape is that of a large enterprise cascade:

- units: a 4-level tree, 1 company, ~1% business units, ~10% departments, the rest teams;
- people: about one per 2 KPIs, each in a unit (the first of a unit leads it), none owning more
  than 5 KPIs;
- objectives (about one per 5 KPIs): 5 strategic at the company, tactical ones for every business
  unit and department, operational ones for most teams with KPIs, each with a parent;
- KPIs: level from the unit's level (company and business unit: strategic, department:
  tactical, team: operational), 90% monthly and 10% quarterly, ~3% `range`, ~2% formulas
  (`a + b - c` over KPIs of the same unit), ~2% ratios, ~50% `contributes_to` a KPI of the
  parent unit (the effect follows the two directions, so there is no direction conflict).
  Each KPI `supports` an objective of its own unit or of the nearest ancestor unit with an
  objective at the KPI's level or above (a business unit's strategic KPIs measure a company
  objective; links never point to a lower level);
- measurements: every non-formula KPI at its own unit, one row per period: `months` months
  ending 2026-10 for monthly KPIs, `months // 3` quarters ending 2026-Q3 for quarterly ones.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import json
import math
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, TypeVar

FUNCTIONS = (
    "finance",
    "sales",
    "marketing",
    "operations",
    "hr",
    "it",
    "customer_service",
    "rnd",
    "procurement",
    "legal",
)
FUNCTION_TITLES = {
    "executive": "Executive Office",
    "finance": "Finance",
    "sales": "Sales",
    "marketing": "Marketing",
    "operations": "Operations",
    "hr": "People",
    "it": "Technology",
    "customer_service": "Customer Service",
    "rnd": "Research and Development",
    "procurement": "Procurement",
    "legal": "Legal and Compliance",
}
DEPARTMENT_NAMES = {
    "finance": ("Accounting", "Treasury", "Financial Planning", "Tax", "Accounts Payable"),
    "sales": ("Enterprise Sales", "Mid-Market Sales", "Inside Sales", "Channel Sales"),
    "marketing": ("Demand Generation", "Brand", "Product Marketing", "Digital Marketing"),
    "operations": ("Manufacturing", "Logistics", "Quality", "Planning", "Facilities"),
    "hr": ("Talent Acquisition", "Learning", "Reward", "People Partners"),
    "it": ("Infrastructure", "Applications", "Service Desk", "Security", "Data Platform"),
    "customer_service": ("Contact Centre", "Technical Support", "Customer Success"),
    "rnd": ("Platform Engineering", "Product Engineering", "Research", "Quality Engineering"),
    "procurement": ("Strategic Sourcing", "Purchasing", "Supplier Quality"),
    "legal": ("Corporate Legal", "Compliance", "Privacy", "Contracts"),
}
REGIONS = (
    "North America",
    "Latin America",
    "Northern Europe",
    "Southern Europe",
    "Central Europe",
    "Middle East",
    "Africa",
    "India",
    "Greater China",
    "Japan",
    "Southeast Asia",
    "Oceania",
)
PERSPECTIVES = {
    "executive": "financial",
    "finance": "financial",
    "sales": "customer",
    "marketing": "customer",
    "operations": "internal",
    "hr": "learning",
    "it": "internal",
    "customer_service": "customer",
    "rnd": "learning",
    "procurement": "financial",
    "legal": "internal",
}
STRATEGIC_OBJECTIVES = (
    ("Grow revenue profitably to a 20 percent EBITDA margin by the end of 2027", "financial"),
    ("Become the first choice of our customers in every core market", "customer"),
    ("Run lean, reliable and safe operations", "internal"),
    ("Build a skilled and engaged workforce", "learning"),
    ("Bring new products to market twice as fast", "internal"),
)
OBJECTIVE_PHRASES = {
    "finance": (
        "Strengthen cash generation",
        "Tighten cost control",
        "Speed up the financial close",
        "Improve forecast quality",
    ),
    "sales": (
        "Grow bookings in core segments",
        "Raise win rates on qualified deals",
        "Build a predictable pipeline",
    ),
    "marketing": (
        "Fill the funnel with qualified demand",
        "Lift brand awareness among target buyers",
        "Cut the cost of acquiring a lead",
    ),
    "operations": (
        "Deliver every order on time and complete",
        "Lower the unit cost of production",
        "Reach zero lost-time injuries",
    ),
    "hr": (
        "Hire the right people faster",
        "Keep our best people",
        "Grow skills through learning",
    ),
    "it": (
        "Keep core systems available and secure",
        "Restore service faster after incidents",
        "Cut the cost of running technology",
    ),
    "customer_service": (
        "Answer customers faster",
        "Resolve issues at first contact",
        "Turn support into loyalty",
    ),
    "rnd": (
        "Release smaller changes more often",
        "Build quality into every release",
        "Shorten time to market",
    ),
    "procurement": (
        "Secure savings from strategic suppliers",
        "Bring addressable spend under contract",
        "Improve supplier quality and delivery",
    ),
    "legal": (
        "Turn contracts around faster",
        "Keep the company compliant",
        "Reduce exposure to litigation",
    ),
}
FIRST_NAMES = (
    "Aisha", "Alex", "Amara", "Ana", "Andrei", "Anna", "Arjun", "Ben", "Bruno", "Carla", "Chen",
    "Chloe", "Daniel", "David", "Diego", "Elena", "Emeka", "Emma", "Farah", "Felix", "Grace",
    "Hana", "Hannah", "Ibrahim", "Ines", "Ivan", "Jamal", "James", "Jana", "Joao", "Jonas",
    "Julia", "Kai", "Kenji", "Lars", "Laura", "Leila", "Lena", "Liam", "Lucia", "Luis", "Maria",
    "Marek", "Marta", "Maya", "Mei", "Mohammed", "Nadia", "Nina", "Noah", "Olga", "Omar", "Paul",
    "Pedro", "Priya", "Rafael", "Rosa", "Sara", "Sean", "Sofia", "Tariq", "Tomas", "Yuki", "Zara",
)  # fmt: skip
LAST_NAMES = (
    "Adeyemi", "Alvarez", "Andersen", "Asante", "Bauer", "Becker", "Bell", "Blake", "Carvalho",
    "Chen", "Costa", "Dubois", "Fischer", "Garcia", "Grant", "Gupta", "Hansen", "Ito", "Jensen",
    "Kim", "Kowalski", "Kumar", "Lindqvist", "Lopez", "Marino", "Martin", "Moreau", "Murphy",
    "Nakamura", "Novak", "Nowak", "Okafor", "Osei", "Park", "Patel", "Petrov", "Rahman", "Raman",
    "Reyes", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Sousa", "Tanaka", "Taylor",
    "Torres", "Visser", "Wagner", "Walker", "Wang", "Weber", "Williams", "Wong", "Wu", "Yilmaz",
    "Zhang",
)  # fmt: skip
STAFF_TITLES = (
    "Analyst",
    "Senior Analyst",
    "Specialist",
    "Senior Specialist",
    "Manager",
    "Senior Manager",
    "Coordinator",
    "Consultant",
    "Engineer",
    "Senior Engineer",
    "Lead",
    "Advisor",
)
LEAD_TITLES = {
    "company": "Chief Executive Officer",
    "business_unit": "Managing Director",
    "department": "Head of Department",
    "team": "Team Lead",
}
KPI_LEVELS = {
    "company": "strategic",
    "business_unit": "strategic",
    "department": "tactical",
    "team": "operational",
}
OBJECTIVE_LEVELS = {
    "company": "strategic",
    "business_unit": "tactical",
    "department": "tactical",
    "team": "operational",
}
QUARTERLY_SHARE = 0.11  # formula families are monthly: 10% quarterly overall
LEVEL_RANK = {"strategic": 0, "tactical": 1, "operational": 2}
# KPIs per unit before scaling to the total asked for: with 5 KPIs per unit the scale is just
# under 1, so about 5% of teams have more than 7 KPIs (OW03) and about 5% have none (AL06).
KPI_WEIGHTS = {
    "company": (7,),
    "business_unit": (6, 7, 8),
    "department": (4, 5, 6, 7),
    "team": (0, 1, 2, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8),
}

BASELINE_PERIOD_END = dt.date(2023, 12, 31)
TARGET_DATE = dt.date(2027, 12, 31)
LAST_MONTH = (2026, 10)  # measurements end here (monthly) or at the last full quarter before it


class Template(NamedTuple):
    """A kind of KPI: what it measures and the range of plausible values."""

    name: str
    description: str
    uom: str
    direction: str  # increase | decrease | range
    aggregation: str
    type: str  # leading | lagging
    low: float  # baseline range, or the band of a range KPI
    high: float
    decimals: int
    bounds: str = "nonneg"  # pct: [0, 100]; nonneg: [0, inf); none
    zero_target: bool = False


class RatioTemplate(NamedTuple):
    name: str
    description: str
    numerator: str
    denominator: str
    low: float  # percentage at baseline
    high: float
    den_low: int
    den_high: int


class FormulaFamily(NamedTuple):
    """A formula KPI and its inputs: `formula = sign1 * input1 + sign2 * input2 ...`."""

    name: str
    description: str
    uom: str
    direction: str
    aggregation: str
    decimals: int
    inputs: tuple[tuple[int, Template], ...]


def _t(
    name: str,
    description: str,
    uom: str,
    direction: str,
    aggregation: str,
    type_: str,
    low: float,
    high: float,
    decimals: int,
    bounds: str = "nonneg",
    zero_target: bool = False,
) -> Template:
    return Template(
        name,
        description,
        uom,
        direction,
        aggregation,
        type_,
        low,
        high,
        decimals,
        bounds,
        zero_target,
    )


INC, DEC, RNG = "increase", "decrease", "range"
LEAD, LAG = "leading", "lagging"

EXECUTIVE_TEMPLATES = (
    _t("Revenue", "Revenue recognised in the period.", "USD million", INC, "sum", LAG, 20, 400, 1),
    _t("Revenue growth", "Revenue growth against the same period a year earlier.", "%", INC,
       "mean", LAG, 2, 12, 1, "none"),
    _t("EBITDA margin", "Earnings before interest, taxes, depreciation and amortisation as a "
       "share of revenue.", "%", INC, "mean", LAG, 8, 25, 1, "pct"),
    _t("Market share", "Share of spend in our core markets, from the analyst panel.", "%", INC,
       "last", LAG, 5, 25, 1, "pct"),
    _t("Customer loyalty index", "Loyalty index from the quarterly relationship survey.",
       "points", INC, "mean", LAG, 40, 70, 0, "pct"),
    _t("Return on capital employed", "Operating profit over capital employed, annualised.", "%",
       INC, "mean", LAG, 6, 18, 1, "none"),
    _t("Carbon emissions", "Scope 1 and 2 emissions in the period.", "tonnes CO2e", DEC, "sum",
       LAG, 500, 20000, 0),
    _t("Free cash flow conversion", "Free cash flow as a share of net income.", "%", INC, "mean",
       LAG, 60, 95, 1),
    _t("Customer retention", "Share of customers at the start of the year still active.", "%",
       INC, "last", LAG, 80, 92, 1, "pct"),
    _t("Employee engagement", "Engagement index from the company pulse survey.", "points", INC,
       "last", LAG, 55, 75, 0, "pct"),
    _t("New product revenue", "Share of revenue from products launched in the last 24 months.",
       "%", INC, "mean", LAG, 8, 20, 1, "pct"),
    _t("Serious safety incidents", "Incidents with serious injury or major damage in the period.",
       "incidents", DEC, "sum", LAG, 1, 4, 0, "nonneg", True),
)  # fmt: skip

FUNCTION_TEMPLATES: dict[str, tuple[Template, ...]] = {
    "finance": (
        _t("Days sales outstanding", "Mean days to collect receivables in the period.", "days",
           DEC, "mean", LAG, 35, 70, 1),
        _t("Operating expense", "Operating expenses booked in the period.", "USD thousand", DEC,
           "sum", LAG, 200, 5000, 0),
        _t("Forecast accuracy", "Share of forecast lines within 5 percent of actuals.", "%", INC,
           "mean", LEAD, 70, 90, 1, "pct"),
        _t("Invoice processing cost", "Cost to process one supplier invoice.", "USD", DEC,
           "mean", LAG, 4, 15, 2),
        _t("Close cycle time", "Working days to close the books after month end.", "days", DEC,
           "mean", LEAD, 4, 12, 1),
        _t("Gross margin", "Gross profit as a share of revenue in the period.", "%", INC, "mean",
           LAG, 25, 60, 1, "pct"),
        _t("Overdue receivables", "Receivables over 90 days overdue as a share of receivables.",
           "%", DEC, "last", LAG, 3, 15, 1, "pct"),
        _t("Material audit findings", "Audit findings rated material in the period.", "findings",
           DEC, "sum", LAG, 1, 5, 0, "nonneg", True),
    ),
    "sales": (
        _t("New bookings", "Contract value signed in the period.", "USD thousand", INC, "sum",
           LAG, 100, 3000, 0),
        _t("Win rate", "Share of qualified opportunities won in the period.", "%", INC, "mean",
           LAG, 15, 40, 1, "pct"),
        _t("Pipeline coverage", "Qualified pipeline over next quarter's quota at period end.",
           "x quota", INC, "last", LEAD, 1.5, 3.0, 2),
        _t("Sales cycle length", "Mean days from qualification to signature for deals won.",
           "days", DEC, "mean", LAG, 40, 120, 0),
        _t("Qualified meetings", "First meetings with qualified prospects held in the period.",
           "meetings", INC, "sum", LEAD, 20, 200, 0),
        _t("Average deal size", "Mean contract value of the deals won in the period.",
           "USD thousand", INC, "mean", LAG, 10, 120, 1),
        _t("Quota attainment", "Bookings as a share of quota in the period.", "%", INC, "mean",
           LAG, 70, 95, 1),
        _t("Average discount", "Mean discount off list price on the deals won.", "%", DEC,
           "mean", LEAD, 8, 25, 1, "pct"),
    ),
    "marketing": (
        _t("Marketing-qualified leads", "Leads that reached the qualification score in the "
           "period.", "leads", INC, "sum", LEAD, 200, 3000, 0),
        _t("Cost per lead", "Marketing spend divided by the leads generated.", "USD", DEC, "mean",
           LAG, 40, 250, 1),
        _t("Website conversion", "Share of visitors who start a trial or ask for a demo.", "%",
           INC, "mean", LEAD, 1, 5, 2, "pct"),
        _t("Brand awareness", "Share of surveyed target buyers who recall the brand unaided.",
           "%", INC, "last", LAG, 10, 40, 1, "pct"),
        _t("Email engagement", "Share of delivered campaign emails that were opened.", "%", INC,
           "mean", LEAD, 15, 35, 1, "pct"),
        _t("Campaign return on spend", "Attributed revenue per dollar of campaign spend.",
           "x spend", INC, "mean", LAG, 2, 6, 2),
        _t("Content published", "Articles, videos and guides published in the period.", "items",
           INC, "sum", LEAD, 5, 40, 0),
    ),
    "operations": (
        _t("On-time delivery", "Share of orders delivered on or before the promised date.", "%",
           INC, "mean", LAG, 80, 95, 1, "pct"),
        _t("Order cycle time", "Mean hours from order to shipment.", "hours", DEC, "mean", LEAD,
           24, 96, 1),
        _t("Unit cost", "Fully loaded production cost per unit.", "USD", DEC, "mean", LAG, 10, 90,
           2),
        _t("Scrap rate", "Material scrapped as a share of material used.", "%", DEC, "mean", LAG,
           2, 8, 2, "pct"),
        _t("Lost-time injuries", "Injuries that caused lost working time in the period.",
           "injuries", DEC, "sum", LAG, 1, 6, 0, "nonneg", True),
        _t("Inventory turns", "Cost of goods sold over average inventory, annualised.", "turns",
           INC, "mean", LAG, 4, 12, 1),
        _t("Overall equipment effectiveness", "Availability times performance times quality of "
           "the main lines.", "%", INC, "mean", LAG, 55, 80, 1, "pct"),
        _t("Energy use per unit", "Kilowatt hours used per unit produced.", "kWh", DEC, "mean",
           LAG, 2, 15, 2),
    ),
    "hr": (
        _t("Time to hire", "Mean days from requisition approval to an accepted offer.", "days",
           DEC, "mean", LEAD, 30, 70, 0),
        _t("Voluntary attrition", "Voluntary leavers over the last 12 months as a share of "
           "headcount.", "%", DEC, "last", LAG, 8, 20, 1, "pct"),
        _t("Training hours", "Training hours per employee in the period.", "hours", INC, "mean",
           LEAD, 1, 6, 1),
        _t("Internal fill rate", "Share of open roles filled by internal candidates.", "%", INC,
           "mean", LEAD, 20, 45, 1, "pct"),
        _t("Absence rate", "Working days lost to absence as a share of working days.", "%", DEC,
           "mean", LAG, 2, 6, 2, "pct"),
        _t("Payroll errors", "Payslips corrected after payment in the period.", "payslips", DEC,
           "sum", LAG, 1, 8, 0, "nonneg", True),
        _t("Diversity in leadership", "Share of leadership roles held by women.", "%", INC,
           "last", LAG, 20, 40, 1, "pct"),
    ),
    "it": (
        _t("System availability", "Share of scheduled service time the core systems were up.",
           "%", INC, "mean", LAG, 99.0, 99.8, 2, "pct"),
        _t("Mean time to restore", "Mean hours to restore service after a priority incident.",
           "hours", DEC, "mean", LAG, 2, 12, 1),
        _t("Priority incidents", "Priority 1 and 2 incidents opened in the period.", "incidents",
           DEC, "sum", LAG, 3, 20, 0),
        _t("Change success rate", "Share of production changes that caused no incident.", "%",
           INC, "mean", LEAD, 85, 97, 1, "pct"),
        _t("Patch compliance", "Share of servers patched within 30 days of a release.", "%", INC,
           "last", LEAD, 70, 92, 1, "pct"),
        _t("Cloud cost", "Cloud infrastructure spend in the period.", "USD thousand", DEC, "sum",
           LAG, 50, 900, 0),
        _t("Critical security breaches", "Confirmed breaches of critical systems in the period.",
           "breaches", DEC, "sum", LAG, 1, 3, 0, "nonneg", True),
    ),
    "customer_service": (
        _t("First response time", "Mean business hours to the first human reply on a ticket.",
           "hours", DEC, "mean", LEAD, 1, 8, 1),
        _t("Customer satisfaction", "Share of survey answers that are satisfied or very "
           "satisfied.", "%", INC, "mean", LAG, 75, 90, 1, "pct"),
        _t("Average handling time", "Mean minutes an agent spends on one contact.", "minutes",
           DEC, "mean", LEAD, 5, 20, 1),
        _t("Tickets resolved", "Tickets resolved in the period.", "tickets", INC, "sum", LEAD,
           500, 5000, 0),
        _t("Self-service rate", "Share of help requests answered without a ticket.", "%", INC,
           "mean", LEAD, 20, 50, 1, "pct"),
        _t("Repeat contacts", "Share of customers who call again within 7 days on one issue.",
           "%", DEC, "mean", LAG, 8, 20, 1, "pct"),
        _t("Cost per contact", "Fully loaded support cost per contact handled.", "USD", DEC,
           "mean", LAG, 4, 20, 2),
    ),
    "rnd": (
        _t("Release frequency", "Production releases in the period.", "releases", INC, "sum",
           LEAD, 4, 40, 0),
        _t("Lead time for changes", "Mean hours from commit to production.", "hours", DEC,
           "mean", LEAD, 24, 200, 0),
        _t("Escaped defects", "Defects first found by customers in the period.", "defects", DEC,
           "sum", LAG, 5, 40, 0),
        _t("Test automation coverage", "Share of regression tests that run automatically.", "%",
           INC, "last", LEAD, 40, 80, 1, "pct"),
        _t("Time to market", "Mean days from approved specification to general availability.",
           "days", DEC, "mean", LAG, 60, 180, 0),
        _t("Technical debt ratio", "Estimated remediation effort as a share of development "
           "effort.", "%", DEC, "last", LEAD, 10, 30, 1, "pct"),
        _t("Patents filed", "Patent applications filed in the period.", "applications", INC,
           "sum", LEAD, 1, 6, 0),
    ),
    "procurement": (
        _t("Cost savings", "Negotiated savings against the previous price in the period.",
           "USD thousand", INC, "sum", LAG, 20, 600, 0),
        _t("Spend under contract", "Share of addressable spend covered by a contract.", "%", INC,
           "last", LEAD, 55, 85, 1, "pct"),
        _t("Purchase order cycle time", "Mean days from requisition to purchase order.", "days",
           DEC, "mean", LEAD, 3, 15, 1),
        _t("Supplier on-time delivery", "Share of supplier deliveries on the agreed date.", "%",
           INC, "mean", LAG, 80, 95, 1, "pct"),
        _t("Supplier defect rate", "Parts per million rejected at incoming inspection.", "ppm",
           DEC, "mean", LAG, 200, 2000, 0),
        _t("Maverick spend", "Spend outside approved suppliers as a share of total spend.", "%",
           DEC, "mean", LEAD, 5, 20, 1, "pct"),
    ),
    "legal": (
        _t("Contract turnaround", "Mean days from a contract request to a draft ready to sign.",
           "days", DEC, "mean", LEAD, 5, 20, 1),
        _t("Open litigation matters", "Litigation matters open at period end.", "matters", DEC,
           "last", LAG, 5, 40, 0),
        _t("Outside counsel spend", "Fees paid to external law firms in the period.",
           "USD thousand", DEC, "sum", LAG, 20, 400, 0),
        _t("Policy attestation", "Share of staff who attested to the code of conduct.", "%", INC,
           "last", LEAD, 80, 97, 1, "pct"),
        _t("Regulatory breaches", "Reportable regulatory breaches in the period.", "breaches",
           DEC, "sum", LAG, 1, 4, 0, "nonneg", True),
        _t("Privacy requests on time", "Share of data subject requests answered within the "
           "legal deadline.", "%", INC, "mean", LAG, 85, 98, 1, "pct"),
    ),
}  # fmt: skip

GENERAL_TEMPLATES = (
    _t("Team engagement", "Engagement index of the unit from the pulse survey.", "points", INC,
       "last", LAG, 55, 80, 0, "pct"),
    _t("Overtime hours", "Overtime hours worked per employee in the period.", "hours", DEC,
       "mean", LEAD, 2, 12, 1),
    _t("Improvement ideas implemented", "Process improvement ideas put in place in the period.",
       "ideas", INC, "sum", LEAD, 1, 10, 0),
    _t("Mandatory training completion", "Share of staff who finished mandatory training on "
       "time.", "%", INC, "last", LEAD, 75, 95, 1, "pct"),
    _t("Overdue audit actions", "Audit actions past their due date at period end.", "actions",
       DEC, "last", LAG, 4, 12, 0),
    _t("Cost per employee", "Operating cost of the unit per employee in the period.",
       "USD thousand", DEC, "mean", LAG, 5, 20, 2),
)  # fmt: skip

RANGE_TEMPLATES = (
    _t("Budget utilisation", "Spend to date as a share of budget to date.", "%", RNG, "last",
       LEAD, 95, 103, 1),
    _t("Capacity utilisation", "Booked hours as a share of available hours.", "%", RNG, "mean",
       LEAD, 75, 88, 1, "pct"),
    _t("Sprint predictability", "Points delivered as a share of points committed.", "%", RNG,
       "mean", LEAD, 85, 105, 1),
    _t("Inventory cover", "Days of demand covered by stock at period end.", "days", RNG, "last",
       LEAD, 20, 35, 1),
    _t("Span of control", "Direct reports per manager at period end.", "people", RNG, "last",
       LEAD, 6, 10, 1),
    _t("Overtime share", "Overtime as a share of the hours worked.", "%", RNG, "mean", LEAD, 2,
       6, 2, "pct"),
)  # fmt: skip

RATIO_TEMPLATES = (
    RatioTemplate("First-pass yield", "Units that pass first inspection as a share of units "
                  "inspected.", "units passing first inspection", "units inspected", 85, 97,
                  500, 20000),
    RatioTemplate("Offer acceptance rate", "Offers accepted as a share of offers made.",
                  "offers accepted", "offers made", 70, 90, 10, 200),
    RatioTemplate("Tickets resolved within SLA", "Tickets resolved within their deadline as a "
                  "share of tickets resolved.", "tickets resolved within SLA",
                  "tickets resolved", 80, 95, 300, 5000),
    RatioTemplate("Invoices paid on time", "Invoices paid by their due date as a share of "
                  "invoices paid.", "invoices paid by the due date", "invoices paid", 80, 97,
                  200, 5000),
    RatioTemplate("Lead conversion rate", "Leads converted to opportunities as a share of leads "
                  "received.", "leads converted to opportunities", "leads received", 10, 30,
                  100, 3000),
    RatioTemplate("Trial conversion rate", "Trials converted to paid plans as a share of trials "
                  "started.", "trials converted to paid", "trials started", 10, 25, 50, 2000),
    RatioTemplate("First contact resolution", "Contacts resolved at first contact as a share "
                  "of contacts handled.", "contacts resolved at first contact",
                  "contacts handled", 60, 80, 500, 10000),
    RatioTemplate("Deployment success rate", "Deployments without a rollback as a share of "
                  "deployments.", "deployments without rollback", "deployments", 85, 98, 20,
                  400),
    RatioTemplate("Perfect order rate", "Orders delivered complete and on time as a share of "
                  "orders delivered.", "orders delivered complete and on time",
                  "orders delivered", 80, 95, 200, 10000),
    RatioTemplate("Contract compliance", "Purchase orders placed against a contract as a share "
                  "of purchase orders.", "purchase orders against a contract",
                  "purchase orders", 60, 85, 100, 5000),
)  # fmt: skip


def _family(
    name: str, description: str, uom: str, direction: str, aggregation: str, decimals: int,
    *inputs: tuple[int, Template],
) -> FormulaFamily:  # fmt: skip
    return FormulaFamily(name, description, uom, direction, aggregation, decimals, inputs)


FORMULA_FAMILIES: dict[str, tuple[FormulaFamily, ...]] = {
    "finance": (
        _family("Cash conversion cycle", "Days inventory plus days receivable minus days "
                "payable.", "days", DEC, "mean", 1,
                (1, _t("Days inventory outstanding", "Mean days of inventory on hand.", "days",
                       DEC, "mean", LAG, 40, 70, 1)),
                (1, _t("Days receivable outstanding", "Mean days to collect a receivable.",
                       "days", DEC, "mean", LAG, 35, 60, 1)),
                (-1, _t("Days payable outstanding", "Mean days taken to pay a supplier.", "days",
                        INC, "mean", LAG, 30, 50, 1))),
        _family("Free cash flow", "Operating cash flow minus capital expenditure.",
                "USD thousand", INC, "sum", 0,
                (1, _t("Operating cash flow", "Cash generated by operations in the period.",
                       "USD thousand", INC, "sum", LAG, 800, 5000, 0)),
                (-1, _t("Capital expenditure", "Cash spent on fixed assets in the period.",
                        "USD thousand", DEC, "sum", LAG, 100, 700, 0))),
    ),
    "sales": (
        _family("Net new ARR", "New plus expansion minus churned annual recurring revenue.",
                "USD thousand", INC, "sum", 0,
                (1, _t("New ARR", "Annual recurring revenue from new customers.",
                       "USD thousand", INC, "sum", LAG, 200, 2000, 0)),
                (1, _t("Expansion ARR", "Annual recurring revenue added by existing customers.",
                       "USD thousand", INC, "sum", LAG, 50, 600, 0)),
                (-1, _t("Churned ARR", "Annual recurring revenue lost to cancellations.",
                        "USD thousand", DEC, "sum", LAG, 30, 300, 0))),
    ),
    "marketing": (
        _family("Net promoter score", "Promoters minus detractors, in percent of respondents.",
                "points", INC, "mean", 1,
                (1, _t("Promoters", "Share of respondents who score 9 or 10.", "%", INC, "mean",
                       LAG, 35, 55, 1, "pct")),
                (-1, _t("Detractors", "Share of respondents who score 0 to 6.", "%", DEC, "mean",
                        LAG, 10, 25, 1, "pct"))),
    ),
    "operations": (
        _family("Net inventory change", "Units received minus units shipped in the period.",
                "units", DEC, "sum", 0,
                (1, _t("Units received", "Units received into stock in the period.", "units",
                       DEC, "sum", LAG, 5000, 9000, 0)),
                (-1, _t("Units shipped", "Units shipped to customers in the period.", "units",
                        INC, "sum", LAG, 5000, 9000, 0))),
    ),
    "hr": (
        _family("Net headcount growth", "Hires minus leavers in the period.", "people", INC,
                "sum", 0,
                (1, _t("Hires", "People who joined in the period.", "people", INC, "sum", LAG,
                       10, 60, 0)),
                (-1, _t("Leavers", "People who left in the period.", "people", DEC, "sum", LAG,
                        5, 40, 0))),
    ),
    "it": (
        _family("Ticket backlog growth", "Tickets opened minus tickets closed in the period.",
                "tickets", DEC, "sum", 0,
                (1, _t("Tickets opened", "Service desk tickets opened in the period.", "tickets",
                       DEC, "sum", LAG, 800, 3000, 0)),
                (-1, _t("Tickets closed", "Service desk tickets closed in the period.",
                        "tickets", INC, "sum", LAG, 800, 3000, 0))),
    ),
    "customer_service": (
        _family("Customer effort balance", "Effortless contacts minus high-effort contacts, "
                "in percent of contacts.", "points", INC, "mean", 1,
                (1, _t("Effortless contacts", "Share of contacts rated easy by the customer.",
                       "%", INC, "mean", LAG, 50, 70, 1, "pct")),
                (-1, _t("High-effort contacts", "Share of contacts rated hard by the customer.",
                        "%", DEC, "mean", LAG, 10, 25, 1, "pct"))),
    ),
    "rnd": (
        _family("Defect backlog growth", "Defects found minus defects fixed in the period.",
                "defects", DEC, "sum", 0,
                (1, _t("Defects found", "Defects logged in the period.", "defects", DEC, "sum",
                       LAG, 50, 300, 0)),
                (-1, _t("Defects fixed", "Defects closed as fixed in the period.", "defects",
                        INC, "sum", LAG, 50, 300, 0))),
    ),
    "procurement": (
        _family("Net savings", "Gross savings minus the cost of realising them.", "USD thousand",
                INC, "sum", 0,
                (1, _t("Gross savings", "Savings negotiated in the period.", "USD thousand",
                       INC, "sum", LAG, 100, 900, 0)),
                (-1, _t("Savings implementation cost", "Cost of switching suppliers and "
                        "requalifying parts.", "USD thousand", DEC, "sum", LAG, 10, 90, 0))),
    ),
    "legal": (
        _family("Open matters change", "New matters minus matters closed in the period.",
                "matters", DEC, "sum", 0,
                (1, _t("New matters", "Legal matters opened in the period.", "matters", DEC,
                       "sum", LAG, 10, 40, 0)),
                (-1, _t("Matters closed", "Legal matters closed in the period.", "matters", INC,
                        "sum", LAG, 10, 40, 0))),
    ),
}  # fmt: skip


# --------------------------------------------------------------------------- the model


@dataclass(slots=True)
class Unit:
    id: str
    name: str
    level: str
    parent: int | None  # index into Org.units
    function: str
    lead: str = ""
    kpi_count: int = 0
    people: list[str] = field(default_factory=list)
    objectives: list[int] = field(default_factory=list)  # indexes into Org.objectives
    kpis: list[int] = field(default_factory=list)  # indexes into Org.kpis


@dataclass(slots=True)
class Person:
    id: str
    name: str
    unit: str
    title: str
    email: str


@dataclass(slots=True)
class Objective:
    id: str
    title: str
    level: str
    unit: str
    owner: str
    parent: str | None
    weight: int
    perspective: str


@dataclass(slots=True)
class Kpi:
    id: str
    name: str
    description: str
    uom: str
    level: str
    type: str
    unit: str
    owner: str
    frequency: str
    direction: str
    aggregation: str
    decimals: int
    bounds: str  # pct | nonneg | none (only pct is written: the values are never negative)
    baseline: float | None = None
    target: float | None = None
    band: tuple[float, float] | None = None  # direction range
    formula: str | None = None
    ratio: tuple[str, str] | None = None
    denominator: int = 0  # ratio KPIs: typical denominator
    supports: list[tuple[str, int]] = field(default_factory=list)
    contributes: list[tuple[str, int, str]] = field(default_factory=list)
    targets: dict[str, float] = field(default_factory=dict)
    tolerance: float | None = None
    tolerance_abs: float | None = None
    benchmark: float | None = None
    pace: float = 1.0  # share of the glide path achieved; below 1 falls behind
    noise: float = 0.03  # relative noise of the measurements


@dataclass(slots=True)
class Org:
    units: list[Unit]
    people: list[Person]
    objectives: list[Objective]
    kpis: list[Kpi]
    seed: int


@dataclass(frozen=True)
class GeneratedOrg:
    """What `generate` wrote."""

    strategy: Path
    measurements: Path
    units: int
    people: int
    objectives: int
    kpis: int
    formula_kpis: int
    ratio_kpis: int
    range_kpis: int
    measurement_rows: int
    strategy_bytes: int
    measurements_bytes: int
    seconds: float


# --------------------------------------------------------------------------- building


def _id(prefix: str, index: int, width: int) -> str:
    return f"{prefix}{index:0{width}d}"


def _width(count: int, minimum: int) -> int:
    return max(minimum, len(str(max(count - 1, 0))))


def _round(value: float, decimals: int) -> float:
    rounded = round(value, decimals)
    return 0.0 if rounded == 0 else rounded


def _bounded(value: float, bounds: str) -> float:
    if bounds == "pct":
        return min(100.0, max(0.0, value))
    if bounds == "nonneg":
        return max(0.0, value)
    return value


def _target_for(rng: random.Random, template: Template, baseline: float) -> float:
    if template.zero_target:
        return 0.0
    improvement = rng.uniform(0.08, 0.35)
    if template.direction == INC:
        target = baseline * (1 + improvement) if baseline > 0 else baseline + 5
        if template.bounds == "pct":
            target = min(target, baseline + (100 - baseline) * 0.7)
    else:
        target = baseline * (1 - improvement)
    target = _round(target, template.decimals)
    if target == baseline:  # too coarse to show a change: move one step
        step = 10.0**-template.decimals
        target = _round(
            baseline + (step if template.direction == INC else -step), template.decimals
        )
    return target if target != 0 else 10.0**-template.decimals


def build_org(kpis: int, units: int, seed: int = 7) -> Org:
    """The organisation in memory; `write_strategy` and `write_measurements` write it out."""
    if units < 3:
        raise ValueError("need at least 3 units (a company, a business unit, a department)")
    if kpis < units // 2 or kpis < 10:
        raise ValueError("need at least 10 KPIs and one KPI per 2 units")
    rng = random.Random(seed)

    # ---- units: company, business units, departments, teams
    n_bu = max(1, round(units * 0.01))
    n_dept = max(1, round(units * 0.10))
    n_team = units - 1 - n_bu - n_dept
    if n_team < 0:
        n_dept, n_team = units - 1 - n_bu, 0
    uw = _width(units, 6)
    unit_list: list[Unit] = [Unit(_id("u", 0, uw), "Meridian Group", "company", None, "executive")]
    name_counts: dict[str, int] = {}

    def unique(name: str) -> str:
        seen = name_counts.get(name, 0) + 1
        name_counts[name] = seen
        return name if seen == 1 else f"{name} {seen}"

    bu_functions = list(FUNCTIONS)
    rng.shuffle(bu_functions)
    for i in range(n_bu):
        function = bu_functions[i % len(bu_functions)]
        region = REGIONS[(i // len(FUNCTIONS)) % len(REGIONS)]
        name = unique(f"{FUNCTION_TITLES[function]} {region}")
        unit_list.append(Unit(_id("u", len(unit_list), uw), name, "business_unit", 0, function))
    for i in range(n_dept):
        parent = 1 + (i % n_bu)  # every business unit gets departments
        function = unit_list[parent].function if rng.random() < 0.7 else rng.choice(FUNCTIONS)
        name = unique(rng.choice(DEPARTMENT_NAMES[function]))
        unit_list.append(Unit(_id("u", len(unit_list), uw), name, "department", parent, function))
    first_dept = 1 + n_bu
    for i in range(n_team):
        # the first pass gives every department a team, then at random
        parent = first_dept + (i if i < n_dept else rng.randrange(n_dept))
        dept = unit_list[parent]
        name = unique(f"{dept.name.rstrip('0123456789 ')} Team")
        unit_list.append(Unit(_id("u", len(unit_list), uw), name, "team", parent, dept.function))

    # ---- how many KPIs each unit has: weights by level, teams vary a lot
    weights = [float(rng.choice(KPI_WEIGHTS[u.level])) for u in unit_list]
    total_weight = sum(weights)
    shares = [w * kpis / total_weight for w in weights]
    counts = [int(s) for s in shares]
    short = kpis - sum(counts)
    by_fraction = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_fraction[:short]:
        counts[i] += 1
    for unit, count in zip(unit_list, counts, strict=True):
        unit.kpi_count = count

    # ---- people: the lead first, then one per 2 KPIs of the unit
    pw = _width(kpis // 2 + units, 6)
    people: list[Person] = []
    for unit in unit_list:
        for j in range(max(1, unit.kpi_count // 2)):
            pid = _id("p", len(people), pw)
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            title = LEAD_TITLES[unit.level] if j == 0 else rng.choice(STAFF_TITLES)
            if j == 0 and unit.level != "company":
                title = f"{title}, {unit.name}"
            email = f"{first.lower()}.{last.lower().replace(' ', '')}.{pid[1:]}@example.com"
            people.append(Person(pid, f"{first} {last}", unit.id, title, email))
            unit.people.append(pid)
        unit.lead = unit.people[0]

    # ---- objectives
    target_objectives = max(kpis // 5, 5 + 2 * n_bu + n_dept)
    ow = _width(target_objectives + 5, 6)
    objectives: list[Objective] = []

    def add_objective(unit_index: int, title: str, parent: str | None, perspective: str) -> str:
        unit = unit_list[unit_index]
        oid = _id("o", len(objectives), ow)
        weight = 2 if parent is not None and rng.random() < 0.2 else 1
        level = OBJECTIVE_LEVELS[unit.level]
        objectives.append(
            Objective(oid, title, level, unit.id, unit.lead, parent, weight, perspective)
        )
        unit.objectives.append(len(objectives) - 1)
        return oid

    for title, perspective in STRATEGIC_OBJECTIVES:
        add_objective(0, title, None, perspective)

    def phrase(unit: Unit) -> str:
        return f"{rng.choice(OBJECTIVE_PHRASES[unit.function])} in {unit.name} by the end of 2027"

    for b in range(1, 1 + n_bu):
        for k in range(2):
            parent_id = objectives[(b * 2 + k) % 5].id
            add_objective(b, phrase(unit_list[b]), parent_id, PERSPECTIVES[unit_list[b].function])
    for d in range(first_dept, first_dept + n_dept):
        dept = unit_list[d]
        assert dept.parent is not None
        parents = unit_list[dept.parent].objectives
        for k in range(2 if rng.random() < 0.5 else 1):
            parent_id = objectives[parents[(d + k) % len(parents)]].id
            add_objective(d, phrase(dept), parent_id, PERSPECTIVES[dept.function])
    teams_with_kpis = [i for i in range(first_dept + n_dept, len(unit_list)) if counts[i] > 0]
    n_operational = max(0, min(len(teams_with_kpis), target_objectives - len(objectives)))
    for t in sorted(rng.sample(teams_with_kpis, n_operational)):
        team = unit_list[t]
        assert team.parent is not None
        parents = unit_list[team.parent].objectives
        parent_id = objectives[parents[t % len(parents)]].id
        add_objective(t, phrase(team), parent_id, PERSPECTIVES[team.function])

    # ---- KPI slots: formula families first, then ratios and ranges at random, then the rest
    kinds: list[list[str]] = [[""] * c for c in counts]  # per unit, per slot: the slot's kind
    n_formula = round(kpis * 0.02)
    eligible = [i for i in range(1, len(unit_list)) if counts[i] >= 4]
    families: dict[int, FormulaFamily] = {}
    for i in sorted(rng.sample(eligible, min(n_formula, len(eligible)))):
        family = rng.choice(FORMULA_FAMILIES[unit_list[i].function])
        families[i] = family
        size = 1 + len(family.inputs)
        kinds[i][:size] = ["formula"] + ["input"] * len(family.inputs)
    free = [(i, j) for i, slots in enumerate(kinds) for j, kind in enumerate(slots) if not kind]
    special = rng.sample(free, min(len(free), round(kpis * 0.02) + round(kpis * 0.03)))
    for n, (i, j) in enumerate(special):
        kinds[i][j] = "ratio" if n < round(kpis * 0.02) else "range"

    kw = _width(kpis, 7)
    kpi_list: list[Kpi] = []
    for ui, unit in enumerate(unit_list):
        if not unit.kpi_count:
            continue
        level = KPI_LEVELS[unit.level]
        pool: list[Template] = []
        if unit.level in ("company", "business_unit"):
            pool.extend(EXECUTIVE_TEMPLATES)
        if unit.level != "company":
            pool.extend(FUNCTION_TEMPLATES[unit.function])
            if unit.level != "business_unit":
                pool.extend(GENERAL_TEMPLATES)
        regular = _draw(rng, pool, kinds[ui].count(""))
        ranges = _draw(rng, list(RANGE_TEMPLATES), kinds[ui].count("range"))
        ratios = _draw(rng, list(RATIO_TEMPLATES), kinds[ui].count("ratio"))
        supports = _supporting_objectives(unit_list, objectives, ui, level)
        owners = unit.people
        offset = rng.randrange(len(owners))
        unit_family = families.get(ui)
        family_ids: list[str] = []
        for j, kind in enumerate(kinds[ui]):
            kid = _id("k", len(kpi_list), kw)
            owner = owners[(offset + j) % len(owners)]
            if kind == "formula":
                assert unit_family is not None
                kpi = _formula_head(unit_family, kid, level, unit.id, owner)
                family_ids = []
            elif kind == "input":
                assert unit_family is not None
                _sign, template = unit_family.inputs[len(family_ids)]
                kpi = _regular(
                    rng, template, template.name, kid, level, unit.id, owner, "monthly", False
                )
                family_ids.append(kid)
                if len(family_ids) == len(unit_family.inputs):
                    _finish_formula(
                        kpi_list[-len(family_ids)], unit_family, family_ids, kpi_list, kpi
                    )
            elif kind == "ratio":
                ratio, name = ratios.pop()
                kpi = _ratio(rng, ratio, name, kid, level, unit.id, owner)
            else:
                template, name = (ranges if kind == "range" else regular).pop()
                frequency = "quarterly" if rng.random() < QUARTERLY_SHARE else "monthly"
                kpi = _regular(rng, template, name, kid, level, unit.id, owner, frequency)
            objective = supports[j % len(supports)]
            kpi.supports.append((objective, rng.choice((1, 1, 1, 2, 2, 3))))
            unit.kpis.append(len(kpi_list))
            kpi_list.append(kpi)

    # ---- contributes_to: half of all KPIs, to a KPI of the parent unit
    eligible_kpis = sum(
        len(u.kpis) for u in unit_list if u.parent is not None and unit_list[u.parent].kpis
    )
    share = min(1.0, 0.5 * kpis / max(1, eligible_kpis))
    for unit in unit_list:
        if unit.parent is None:
            continue
        parent_kpis = [
            kpi_list[k] for k in unit_list[unit.parent].kpis if kpi_list[k].direction != RNG
        ]
        if not parent_kpis:
            continue
        for k in unit.kpis:
            kpi = kpi_list[k]
            if kpi.direction == RNG or rng.random() >= share:
                continue
            other = rng.choice(parent_kpis)
            effect = "positive" if kpi.direction == other.direction else "negative"
            kpi.contributes.append((other.id, rng.choice((1, 1, 2)), effect))

    return Org(unit_list, people, objectives, kpi_list, seed)


_P = TypeVar("_P", Template, RatioTemplate)


def _draw(rng: random.Random, pool: Sequence[_P], count: int) -> list[tuple[_P, str]]:
    """`count` templates with distinct names (numbered once the pool runs out)."""
    drawn: list[tuple[_P, str]] = []
    round_ = 1
    while len(drawn) < count:
        batch = rng.sample(list(pool), min(len(pool), count - len(drawn)))
        drawn.extend((t, t.name if round_ == 1 else f"{t.name} {round_}") for t in batch)
        round_ += 1
    return drawn


def _supporting_objectives(
    units: list[Unit], objectives: list[Objective], index: int, level: str
) -> list[str]:
    """Objectives of the unit, or of the nearest ancestor, at the KPI's level or above."""
    node: int | None = index
    while node is not None:
        found = [
            objectives[o].id
            for o in units[node].objectives
            if LEVEL_RANK[objectives[o].level] <= LEVEL_RANK[level]
        ]
        if found:
            return found
        node = units[node].parent
    raise AssertionError("the company has strategic objectives")


def _tolerance(rng: random.Random, kpi: Kpi) -> None:
    roll = rng.random()
    if kpi.target == 0:
        kpi.tolerance_abs = 1.0
    elif kpi.bounds == "pct" and kpi.target is not None and kpi.target > 95:
        kpi.tolerance_abs = _round(max(0.1, (100 - kpi.target) / 2), 2)
    elif roll < 0.15:
        kpi.tolerance = 0.05
    elif roll < 0.25:
        kpi.tolerance = 0.15


def _regular(
    rng: random.Random,
    template: Template,
    name: str,
    kid: str,
    level: str,
    unit: str,
    owner: str,
    frequency: str,
    overrides: bool = True,
) -> Kpi:
    kpi = Kpi(
        kid,
        name,
        template.description,
        template.uom,
        level,
        template.type,
        unit,
        owner,
        frequency,
        template.direction,
        template.aggregation,
        template.decimals,
        template.bounds,
        pace=rng.uniform(0.3, 1.3),
        noise=rng.uniform(0.01, 0.05),
    )
    if template.direction == RNG:
        kpi.band = (template.low, template.high)
        return kpi
    baseline = _round(rng.uniform(template.low, template.high), template.decimals)
    if baseline == 0:
        baseline = 10.0**-template.decimals
    kpi.baseline = baseline
    kpi.target = _target_for(rng, template, baseline)
    _tolerance(rng, kpi)
    if overrides and rng.random() < 0.04 and not template.zero_target:
        # a per-period override of the glide path: a slower month or quarter agreed
        period = "2026-08" if frequency == "monthly" else "2026-Q3"
        f = _progress(dt.date(2026, 8, 31) if frequency == "monthly" else dt.date(2026, 9, 30))
        glide = baseline + (kpi.target - baseline) * f
        slack = 0.98 if template.direction == INC else 1.02
        value = _round(_bounded(glide * slack, template.bounds), template.decimals)
        kpi.targets[period] = value if value != 0 else 10.0**-template.decimals
    if rng.random() < 0.03:
        kpi.benchmark = _round(rng.uniform(template.low, template.high), template.decimals)
    return kpi


def _ratio(
    rng: random.Random, ratio: RatioTemplate, name: str, kid: str, level: str, unit: str, owner: str
) -> Kpi:
    frequency = "quarterly" if rng.random() < QUARTERLY_SHARE else "monthly"
    kpi = Kpi(
        kid,
        name,
        ratio.description,
        "%",
        level,
        "lagging",
        unit,
        owner,
        frequency,
        INC,
        "sum",
        1,
        "pct",
        ratio=(ratio.numerator, ratio.denominator),
        denominator=rng.randint(ratio.den_low, ratio.den_high),
        pace=rng.uniform(0.3, 1.3),
        noise=rng.uniform(0.01, 0.03),
    )
    kpi.baseline = _round(rng.uniform(ratio.low, ratio.high), 1)
    kpi.target = _round(
        min(kpi.baseline + rng.uniform(2, 8), kpi.baseline + (100 - kpi.baseline) * 0.7), 1
    )
    _tolerance(rng, kpi)
    return kpi


def _formula_head(family: FormulaFamily, kid: str, level: str, unit: str, owner: str) -> Kpi:
    # baseline, target and formula are filled in once the inputs exist (`_finish_formula`)
    return Kpi(
        kid,
        family.name,
        family.description,
        family.uom,
        level,
        "lagging",
        unit,
        owner,
        "monthly",
        family.direction,
        family.aggregation,
        family.decimals,
        "none",
    )


def _finish_formula(
    head: Kpi, family: FormulaFamily, ids: list[str], kpis: list[Kpi], last: Kpi
) -> None:
    inputs = [*kpis[len(kpis) - len(ids) + 1 :], last]
    terms: list[str] = []
    baseline = target = 0.0
    for (sign, _template), kid, kpi in zip(family.inputs, ids, inputs, strict=True):
        assert kpi.baseline is not None and kpi.target is not None
        terms.append(kid if not terms else f"{'+' if sign > 0 else '-'} {kid}")
        if sign < 0 and len(terms) == 1:
            terms[0] = f"-{kid}"
        baseline += sign * kpi.baseline
        target += sign * kpi.target
    head.formula = " ".join(terms)
    head.baseline = _round(baseline, family.decimals)
    head.target = _round(target, family.decimals)
    scale = sum(abs(k.target or 0) for k in inputs) / len(inputs)
    head.tolerance_abs = _round(max(0.1 * abs(head.target), 0.02 * scale, 1.0), family.decimals)


# --------------------------------------------------------------------------- writing YAML

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ,.()'/&+%-]*[A-Za-z0-9.)%]|[A-Za-z]")
_PLAIN_FLOW = re.compile(r"[A-Za-z][A-Za-z0-9 .()'/&+%-]*[A-Za-z0-9.)%]|[A-Za-z]")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


@lru_cache(maxsize=65536)
def quote(text: str, flow: bool = False) -> str:
    """`text` as a YAML scalar: plain when that is safe, else double-quoted."""
    pattern = _PLAIN_FLOW if flow else _PLAIN
    if pattern.fullmatch(text) and text.lower() not in _RESERVED and "  " not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" if text.lstrip("-").strip("0.") == "" else text


def _yaml_kpi(k: Kpi) -> str:
    d = k.decimals
    parts = [
        f"  - id: {k.id}\n"
        f"    name: {quote(k.name)}\n"
        f"    description: {quote(k.description)}\n"
        f"    unit_of_measure: {quote(k.uom)}\n"
        f"    level: {k.level}\n"
        f"    type: {k.type}\n"
        f"    unit: {k.unit}\n"
        f"    owner: {k.owner}\n"
        f"    frequency: {k.frequency}\n"
        f"    direction: {k.direction}\n"
    ]
    if k.band is not None:
        parts.append(f"    range: {{low: {number(k.band[0], d)}, high: {number(k.band[1], d)}}}\n")
    parts.append(f"    aggregation: {k.aggregation}\n")
    if k.formula is not None:
        parts.append(f"    formula: {k.formula}\n")
    if k.ratio is not None:
        parts.append(
            f"    ratio: {{numerator: {quote(k.ratio[0], True)}, "
            f"denominator: {quote(k.ratio[1], True)}, scale: 100}}\n"
        )
    supports = ", ".join(
        f"{{objective: {o}}}" if w == 1 else f"{{objective: {o}, weight: {w}}}"
        for o, w in k.supports
    )
    parts.append(f"    supports: [{supports}]\n")
    if k.contributes:
        contributes = ", ".join(
            f"{{kpi: {c}, weight: {w}, effect: {e}}}" for c, w, e in k.contributes
        )
        parts.append(f"    contributes_to: [{contributes}]\n")
    if k.baseline is not None:
        period = "2023-Q4" if k.frequency == "quarterly" else "2023-12"
        parts.append(f"    baseline: {{period: {period}, value: {number(k.baseline, d)}}}\n")
    if k.target is not None:
        parts.append(f"    target: {{value: {number(k.target, d)}, by: {TARGET_DATE}}}\n")
    if k.targets:
        targets = ", ".join(f"{p}: {number(v, d)}" for p, v in k.targets.items())
        parts.append(f"    targets: {{{targets}}}\n")
    if k.tolerance is not None:
        parts.append(f"    tolerance: {k.tolerance:g}\n")
    if k.tolerance_abs is not None:
        parts.append(f"    tolerance_abs: {k.tolerance_abs:g}\n")
    if k.bounds == "pct":
        parts.append("    bounds: {min: 0, max: 100}\n")
    if k.benchmark is not None:
        parts.append(
            f"    benchmark: {{value: {number(k.benchmark, d)}, source: Industry survey 2025}}\n"
        )
    return "".join(parts)


def write_strategy(org: Org, path: Path) -> int:
    """Write the strategy file; returns its size in bytes."""
    chunks: list[str] = [
        f"# Synthetic organisation for benchmarks: {len(org.units)} units, {len(org.people)} "
        f"people, {len(org.objectives)} objectives, {len(org.kpis)} KPIs (seed {org.seed}).\n"
        "# Written by bench/generate.py; do not edit by hand.\n\n"
        "version: 1\n\n"
        "organization:\n"
        f"  name: {quote(org.units[0].name)}\n"
        "  calendar: {fiscal_year_start: 1}\n"
        "  units:\n"
    ]
    by_index = org.units
    for u in org.units:
        parent = f", parent: {by_index[u.parent].id}" if u.parent is not None else ""
        chunks.append(
            f"    - {{id: {u.id}, name: {quote(u.name, True)}, level: {u.level}{parent}, "
            f"lead: {u.lead}, function: {u.function}}}\n"
        )
    chunks.append("  people:\n")
    for p in org.people:
        chunks.append(
            f"    - {{id: {p.id}, name: {quote(p.name, True)}, unit: {p.unit}, "
            f"title: {quote(p.title, True)}, email: {p.email}}}\n"
        )
    chunks.append(
        "\nstrategy:\n"
        "  mission: Make everyday products that are simple, safe and affordable for everyone.\n"
        "  vision: The most trusted name in our markets by 2030.\n"
        "  values:\n"
        "    - Customers first\n"
        "    - Safety always\n"
        "    - Own the outcome\n"
        "\nobjectives:\n"
    )
    for o in org.objectives:
        parent = f"    parent: {o.parent}\n" if o.parent else ""
        weight = f"    weight: {o.weight}\n" if o.weight != 1 else ""
        chunks.append(
            f"  - id: {o.id}\n"
            f"    title: {quote(o.title)}\n"
            f"    level: {o.level}\n"
            f"    unit: {o.unit}\n"
            f"    owner: {o.owner}\n"
            f"{parent}{weight}"
            f"    perspective: {o.perspective}\n"
            "    start: 2024-01-01\n"
            f"    deadline: {TARGET_DATE}\n"
        )
    chunks.append("\nkpis:\n")
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("".join(chunks))
        chunks = []
        for n, kpi in enumerate(org.kpis, 1):
            chunks.append(_yaml_kpi(kpi))
            if n % 5000 == 0:
                out.write("".join(chunks))
                chunks = []
        chunks.append("\nchecks:\n  options:\n    OW02: {max: 5}\n")
        out.write("".join(chunks))
    return path.stat().st_size


# --------------------------------------------------------------------------- measurements


def _progress(end: dt.date) -> float:
    """How far along the glide path from the baseline to the target date `end` is."""
    return (end - BASELINE_PERIOD_END).days / (TARGET_DATE - BASELINE_PERIOD_END).days


def periods(months: int) -> tuple[list[tuple[str, float, float]], list[tuple[str, float, float]]]:
    """Monthly and quarterly periods as (label, progress, season), oldest first."""
    year, month = LAST_MONTH
    monthly: list[tuple[str, float, float]] = []
    for _ in range(months):
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
        season = math.sin(2 * math.pi * month / 12)
        monthly.append((f"{year}-{month:02d}", _progress(end), season))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    monthly.reverse()
    year, quarter = LAST_MONTH[0], (LAST_MONTH[1] - 1) // 3 + 1
    if LAST_MONTH[1] % 3:  # the current quarter is not over
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    quarterly: list[tuple[str, float, float]] = []
    for _ in range(months // 3):
        last = quarter * 3
        end = dt.date(year, last, calendar.monthrange(year, last)[1])
        season = math.sin(2 * math.pi * last / 12)
        quarterly.append((f"{year}-Q{quarter}", _progress(end), season))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    quarterly.reverse()
    return monthly, quarterly


NOTES = ("estimate", "restated after audit", "late submission")


def write_measurements(org: Org, path: Path, months: int = 36) -> int:
    """Write the measurements CSV; returns the number of data rows."""
    rng = random.Random(org.seed * 7919 + 1)
    monthly, quarterly = periods(months)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("kpi", "period", "value", "unit", "numerator", "denominator", "note"))
        chunk: list[tuple[str, str, str, str, str, str, str]] = []
        for kpi in org.kpis:
            if kpi.formula is not None:
                continue
            series = monthly if kpi.frequency == "monthly" else quarterly
            chunk.extend(_series(rng, kpi, series))
            if len(chunk) >= 100_000:
                writer.writerows(chunk)
                rows += len(chunk)
                chunk = []
        writer.writerows(chunk)
        rows += len(chunk)
    return rows


def _series(
    rng: random.Random, kpi: Kpi, series: list[tuple[str, float, float]]
) -> list[tuple[str, str, str, str, str, str, str]]:
    rand = rng.random
    kid, unit, d = kpi.id, kpi.unit, kpi.decimals
    out: list[tuple[str, str, str, str, str, str, str]] = []
    if kpi.band is not None:
        low, high = kpi.band
        centre, spread = (low + high) / 2, (high - low) / 2
        drift = rng.uniform(-1.2, 1.2) * spread
        for label, f, season in series:
            value = centre + drift * max(f, 0) + spread * (0.3 * season + 0.8 * (rand() - 0.5))
            value = _bounded(value, kpi.bounds)
            out.append((kid, label, number(value, d), unit, "", "", ""))
        return out
    assert kpi.baseline is not None and kpi.target is not None
    base, gap = kpi.baseline, (kpi.target - kpi.baseline) * kpi.pace
    scale = kpi.noise * max(abs(base), abs(kpi.target), 10.0**-d)
    if kpi.ratio is not None:
        den0 = kpi.denominator
        for label, f, season in series:
            pct = min(100.0, max(0.0, base + gap * f + scale * (rand() + rand() - 1)))
            den = max(1, round(den0 * (1 + 0.1 * season + 0.2 * (rand() - 0.5))))
            num = round(den * pct / 100)
            out.append((kid, label, "", unit, str(num), str(den), ""))
        return out
    low = -math.inf if kpi.bounds == "none" else 0.0
    high = 100.0 if kpi.bounds == "pct" else math.inf
    fmt = f"{{:.{d}f}}".format if low == 0 else lambda v: number(v, d)
    for label, f, season in series:
        value = base + gap * f + scale * (0.5 * season + 2 * (rand() + rand() - 1))
        value = low if value < low else high if value > high else value
        note = NOTES[int(rand() * 3)] if rand() < 0.005 else ""
        out.append((kid, label, fmt(value), unit, "", "", note))
    return out


# --------------------------------------------------------------------------- entry points


def generate(out: Path, kpis: int, units: int, months: int = 36, seed: int = 7) -> GeneratedOrg:
    """Write `out/strategy.yaml` and `out/measurements.csv` for a synthetic organisation."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    org = build_org(kpis, units, seed)
    strategy = out / "strategy.yaml"
    measurements = out / "measurements.csv"
    strategy_bytes = write_strategy(org, strategy)
    rows = write_measurements(org, measurements, months)
    return GeneratedOrg(
        strategy=strategy,
        measurements=measurements,
        units=len(org.units),
        people=len(org.people),
        objectives=len(org.objectives),
        kpis=len(org.kpis),
        formula_kpis=sum(k.formula is not None for k in org.kpis),
        ratio_kpis=sum(k.ratio is not None for k in org.kpis),
        range_kpis=sum(k.band is not None for k in org.kpis),
        measurement_rows=rows,
        strategy_bytes=strategy_bytes,
        measurements_bytes=measurements.stat().st_size,
        seconds=time.perf_counter() - started,
    )


PRESETS = {"tiny": (2_000, 400), "small": (10_000, 2_000), "large": (100_000, 20_000)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="small",
        help="tiny 2k KPIs / 400 units, small 10k / 2k (default), large 100k / 20k",
    )
    parser.add_argument("--kpis", type=int, help="number of KPIs (overrides the preset)")
    parser.add_argument("--units", type=int, help="number of units (overrides the preset)")
    parser.add_argument("--months", type=int, default=36, help="months of data ending 2026-10")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    kpis, units = PRESETS[args.preset]
    result = generate(
        args.out, args.kpis or kpis, args.units or units, months=args.months, seed=args.seed
    )
    mb = 1_000_000
    print(
        f"{result.units:,} units, {result.people:,} people, {result.objectives:,} objectives, "
        f"{result.kpis:,} KPIs ({result.formula_kpis:,} formulas, {result.ratio_kpis:,} ratios, "
        f"{result.range_kpis:,} ranges)\n"
        f"{result.strategy}: {result.strategy_bytes / mb:.1f} MB\n"
        f"{result.measurements}: {result.measurement_rows:,} rows, "
        f"{result.measurements_bytes / mb:.1f} MB\n"
        f"took {result.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
