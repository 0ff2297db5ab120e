"""Which column of an export is which of our fields, and how to read the file.

A mapping comes from a file dropped next to the export (`<export>.mapping.json`)
or from defaults: common column names (`E-Mail`, `email_address`, `Kunden-ID`…)
are recognised without one.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Kind = Literal["customers", "orders", "campaign"]
KINDS: tuple[Kind, ...] = ("customers", "orders", "campaign")
MAPPING_SUFFIX = ".mapping.json"

FIELDS: dict[Kind, tuple[str, ...]] = {
    "customers": (
        "customer_id", "email", "phone", "first_name", "last_name", "birth_date", "country",
        "email_opt_in", "sms_opt_in", "created_at", "updated_at",
    ),
    "orders": ("order_id", "customer_id", "ordered_at", "amount", "currency", "quantity", "items"),
    "campaign": ("customer_id", "campaign_id", "event", "occurred_at"),
}

# Normalised column names (lower case, letters and digits only) we recognise without a mapping.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer", "customerno", "customernumber", "clientid", "contactid", "kundenid", "kundennummer", "userid", "crmid"),
    "email": ("email", "emailaddress", "mail", "emailadresse"),
    "phone": ("phone", "phonenumber", "mobile", "telephone", "tel", "telefon", "mobilephone"),
    "first_name": ("firstname", "givenname", "forename", "vorname", "prenom"),
    "last_name": ("lastname", "surname", "familyname", "nachname", "nom"),
    "birth_date": ("birthdate", "dateofbirth", "dob", "birthday", "geburtsdatum"),
    "country": ("country", "countrycode", "land", "pays"),
    "email_opt_in": ("emailoptin", "newsletter", "marketingemail", "emailconsent", "acceptsemailmarketing"),
    "sms_opt_in": ("smsoptin", "smsconsent", "acceptssmsmarketing"),
    "created_at": ("createdat", "created", "signupdate", "registrationdate", "createddate"),
    "updated_at": ("updatedat", "updated", "lastmodified", "modifiedat", "updateddate"),
    "order_id": ("orderid", "order", "ordernumber", "orderno", "bestellnummer", "transactionid"),
    "ordered_at": ("orderedat", "orderdate", "date", "createdat", "purchasedate", "transactiondate"),
    "amount": ("amount", "total", "ordertotal", "totalprice", "revenue", "value", "dollarvalue", "betrag"),
    "currency": ("currency", "currencycode", "waehrung"),
    "quantity": ("quantity", "qty", "items", "numberofitems", "units", "menge"),
    "items": ("skus", "products", "productids", "lineitems"),
    "campaign_id": ("campaignid", "campaign", "campaignname", "mailingid"),
    "event": ("event", "eventtype", "action", "activity", "type"),
    "occurred_at": ("occurredat", "timestamp", "eventtime", "time", "date", "datetime"),
}


def normalise(column: str) -> str:
    return re.sub(r"[^a-z0-9]", "", column.lower())


class ColumnMapping(BaseModel):
    """How to read one source's export. Every key is optional."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[Annotated[str, StringConstraints(max_length=64)], Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict, max_length=64, description="our field -> their column")
    delimiter: str | None = Field(default=None, max_length=10, description='CSV delimiter; "whitespace" for space-aligned files; sniffed when absent')
    header: list[Annotated[str, StringConstraints(max_length=256)]] | None = Field(
        default=None, max_length=1000, description="Column names for a file without a header row")
    date_format: str | None = Field(default=None, max_length=64, description="strptime format of dates (ISO 8601 is always accepted)")
    decimal_comma: bool = Field(default=False, description="Amounts written 12,50")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", description="Currency of amounts when there is no currency column")
    derive_order_id: bool = Field(default=False, description="Orders without an id get one derived from their content")

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str | None) -> str | None:
        if value is not None and value != "whitespace" and len(value) != 1:
            raise ValueError('a delimiter is one character or "whitespace"')
        return value


def resolve_columns(kind: Kind, header: list[str], mapping: ColumnMapping) -> tuple[dict[str, str], list[str]]:
    """(our field -> their column, their unmapped columns). Explicit mapping wins over synonyms."""
    unknown = set(mapping.columns) - set(FIELDS[kind])
    if unknown:
        raise ValueError(f"mapping names fields that {kind} do not have: {', '.join(sorted(unknown))}")
    missing = [c for c in mapping.columns.values() if c not in header]
    if missing:
        raise ValueError(f"mapped column(s) not in the file: {', '.join(missing)}")
    resolved = dict(mapping.columns)
    taken = set(resolved.values())
    by_name = {normalise(column): column for column in header}
    for field in FIELDS[kind]:
        if field in resolved:
            continue
        for candidate in (normalise(field), *SYNONYMS.get(field, ())):
            column = by_name.get(candidate)
            if column is not None and column not in taken:
                resolved[field] = column
                taken.add(column)
                break
    return resolved, [c for c in header if c not in taken]
