"""Reference tables for the synthetic claims generator: payers, CPT codes, denial codes and names.

Plain data with no Django imports. The payer table is ordered by volume rank (the generator weights payers
by 1 / rank^1.2); every number here is a realistic order of magnitude, not a real payer's figure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Payer:
    name: str
    variants: tuple[str, ...]  # raw spellings seen in practice-management exports
    denial_rate: float  # DENIED / (PAID + DENIED) before group adjustments
    decision_days: int  # median days from submission to decision
    payment_days: int  # median days from decision to payment (PAID claims)
    allowed_pct: int  # typical allowed amount as a percentage of billed


PAYERS: tuple[Payer, ...] = (
    Payer("UnitedHealthcare", ("UNITEDHEALTHCARE", "United Healthcare", "UHC"), 0.12, 14, 12, 68),
    Payer("Medicare Part B", ("MEDICARE PART B", "Medicare B"), 0.07, 9, 14, 45),
    Payer("Aetna", ("AETNA", "Aetna Inc."), 0.10, 12, 10, 70),
    Payer("Blue Cross Blue Shield of Texas", ("BCBS of Texas", "BCBSTX"), 0.09, 11, 9, 72),
    Payer("Cigna", ("CIGNA", "Cigna Healthcare"), 0.11, 13, 11, 71),
    Payer("Humana", ("HUMANA", "Humana Inc."), 0.13, 15, 13, 60),
    Payer("Medicaid - Ohio", ("Ohio Medicaid", "MEDICAID OHIO"), 0.17, 21, 18, 40),
    Payer("Anthem Blue Cross", ("ANTHEM", "Anthem BC"), 0.12, 12, 10, 69),
    Payer("Kaiser Permanente", ("KAISER",), 0.06, 8, 7, 75),
    Payer("Molina Healthcare", ("MOLINA",), 0.18, 19, 16, 48),
    Payer("Centene Ambetter", ("Ambetter",), 0.16, 17, 15, 55),
    Payer("Highmark Blue Shield", ("HIGHMARK",), 0.08, 10, 9, 73),
    Payer("Blue Shield of California", ("BLUE SHIELD CA",), 0.09, 11, 10, 74),
    Payer("TRICARE East", ("Tricare",), 0.07, 16, 14, 50),
    Payer("Medicaid - Texas", ("Texas Medicaid",), 0.19, 22, 19, 41),
    Payer("Oscar Health", ("OSCAR",), 0.14, 10, 8, 66),
    Payer("WellCare", ("WELLCARE",), 0.15, 16, 14, 52),
    Payer("Florida Blue", ("FLORIDA BLUE",), 0.10, 12, 11, 70),
    Payer("Independence Blue Cross", ("IBX",), 0.08, 11, 9, 72),
    Payer("Harvard Pilgrim", ("HARVARD PILGRIM HC",), 0.07, 10, 9, 76),
    Payer("Oxford Health Plans", ("OXFORD",), 0.11, 13, 11, 69),
    Payer("Geisinger Health Plan", ("GEISINGER",), 0.06, 9, 8, 74),
    Payer("CareSource", ("CARESOURCE",), 0.17, 18, 16, 45),
    Payer("Priority Health", ("PRIORITY HEALTH",), 0.09, 11, 10, 70),
    Payer("Medicare Advantage - Devoted", ("Devoted Health",), 0.13, 14, 12, 50),
)

PAYER_VOLUME_EXPONENT = 1.2


@dataclass(frozen=True)
class CptGroup:
    name: str
    denial_multiplier: float  # relative to the payer's base denial rate
    amount_sigma: float  # spread of the log-normal billed amount
    modifiers: tuple[tuple[str, float], ...]  # (modifier string, probability)


CPT_GROUPS: tuple[CptGroup, ...] = (
    CptGroup("E&M", 1.0, 0.20, (("25", 0.08), ("25,59", 0.01))),
    CptGroup("LAB", 0.7, 0.30, (("91", 0.03), ("QW", 0.02))),
    CptGroup("RADIOLOGY", 1.3, 0.35, (("26", 0.08), ("TC", 0.03))),
    CptGroup("THERAPY", 1.2, 0.20, (("GP", 0.10), ("59", 0.04), ("GP,59", 0.02))),
    CptGroup("SURGERY", 1.4, 0.45, (("59", 0.08), ("RT", 0.03), ("LT", 0.03), ("25,59", 0.01))),
    CptGroup("HCPCS_DRUG", 1.5, 0.50, (("JZ", 0.03),)),
    CptGroup("CAT_II", 0.5, 0.0, ()),
)

# (code, group, relative volume, typical billed amount in dollars)
CPT_CODES: tuple[tuple[str, str, float, float], ...] = (
    ("99202", "E&M", 2.0, 120.0),
    ("99203", "E&M", 3.0, 180.0),
    ("99204", "E&M", 1.5, 280.0),
    ("99205", "E&M", 0.5, 360.0),
    ("99211", "E&M", 1.5, 45.0),
    ("99212", "E&M", 5.0, 95.0),
    ("99213", "E&M", 14.0, 150.0),
    ("99214", "E&M", 10.0, 220.0),
    ("99215", "E&M", 3.0, 300.0),
    ("80048", "LAB", 3.0, 45.0),
    ("80053", "LAB", 3.0, 60.0),
    ("85025", "LAB", 4.0, 35.0),
    ("83036", "LAB", 2.0, 40.0),
    ("80061", "LAB", 2.0, 55.0),
    ("84443", "LAB", 2.0, 65.0),
    ("81001", "LAB", 1.5, 20.0),
    ("87880", "LAB", 4.0, 15.0),
    ("71046", "RADIOLOGY", 2.0, 160.0),
    ("73030", "RADIOLOGY", 1.0, 140.0),
    ("72148", "RADIOLOGY", 0.6, 1500.0),
    ("70450", "RADIOLOGY", 0.5, 900.0),
    ("76700", "RADIOLOGY", 0.6, 450.0),
    ("77067", "RADIOLOGY", 0.8, 300.0),
    ("97110", "THERAPY", 5.0, 85.0),
    ("97140", "THERAPY", 3.0, 80.0),
    ("97112", "THERAPY", 1.5, 90.0),
    ("97530", "THERAPY", 2.0, 95.0),
    ("97161", "THERAPY", 0.5, 180.0),
    ("29881", "SURGERY", 0.4, 6500.0),
    ("47562", "SURGERY", 0.3, 9000.0),
    ("20610", "SURGERY", 1.2, 250.0),
    ("11042", "SURGERY", 0.6, 400.0),
    ("17110", "SURGERY", 0.8, 220.0),
    ("66984", "SURGERY", 0.4, 3200.0),
    ("45378", "SURGERY", 0.6, 1800.0),
    ("12001", "SURGERY", 0.5, 300.0),
    ("J1100", "HCPCS_DRUG", 0.8, 25.0),
    ("J0696", "HCPCS_DRUG", 0.6, 40.0),
    ("J3301", "HCPCS_DRUG", 0.8, 30.0),
    ("J1885", "HCPCS_DRUG", 0.5, 20.0),
    ("J9035", "HCPCS_DRUG", 0.1, 4500.0),
    ("3074F", "CAT_II", 0.8, 0.0),
    ("3078F", "CAT_II", 0.6, 0.0),
    ("1036F", "CAT_II", 0.6, 0.0),
    ("4004F", "CAT_II", 0.5, 0.0),
)

# Group names are the product's built-in CPT groups (upstream.claims.ingest.cpt_groups), so that a drift
# injected into (payer, cpt_group) here is the slice drift detection groups by (checked by a test).
CPT_GROUP_BY_CODE: dict[str, str] = {code: group for code, group, _, _ in CPT_CODES}

# (CARC code with group prefix, short text, relative frequency among denials)
DENIAL_CODES: tuple[tuple[str, str, float], ...] = (
    ("CO-45", "Charge exceeds fee schedule/maximum allowable", 14.0),
    ("CO-97", "Payment included in the allowance for another service", 10.0),
    ("CO-16", "Claim lacks information or has submission/billing errors", 12.0),
    ("PR-1", "Deductible amount", 9.0),
    ("PR-2", "Coinsurance amount", 6.0),
    ("CO-50", "Not deemed a medical necessity by the payer", 9.0),
    ("CO-197", "Precertification/authorization absent", 8.0),
    ("OA-18", "Exact duplicate claim/service", 5.0),
    ("CO-29", "The time limit for filing has expired", 4.0),
    ("CO-4", "Procedure code inconsistent with the modifier used", 5.0),
    ("CO-11", "Diagnosis inconsistent with the procedure", 5.0),
    ("CO-22", "Care may be covered by another payer (coordination of benefits)", 4.0),
    ("CO-27", "Expenses incurred after coverage terminated", 3.0),
    ("PR-204", "Service not covered under the patient's current benefit plan", 4.0),
    ("CO-151", "Information submitted does not support this many services", 2.0),
)

FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Margaret",
    "Donald", "Ashley", "Steven", "Kimberly", "Andrew", "Emily", "Paul", "Donna", "Joshua", "Michelle",
    "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie",
    "Jose", "Maria", "Luis", "Rosa", "Wei", "Mei", "Ahmed", "Fatima", "Olga", "Priya",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
    "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
    "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
)  # fmt: skip
