"""One pydantic model per kind of row, with the data-quality rules of each field.

A row whose required field is missing or invalid is quarantined; an optional
field that is present but invalid (an e-mail without a domain, a phone that is
not E.164, a birth date in 1850) is dropped from the row and counted against
the field's validity: fill rate is not validity.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from functions.profiles.crm_import.mapping import Kind

# ISO 3166-1 alpha-2 (officially assigned codes).
ISO_COUNTRIES = frozenset(
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
    "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR "
    "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO "
    "JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR "
    "MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO "
    "RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV "
    "TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW".split()
)
EARLIEST = date(1900, 1, 1)
_PHONE_NOISE = re.compile(r"[\s().\-/]")


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_COUNTRIES:
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return code


def _phone(value: str) -> str:
    compact = _PHONE_NOISE.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not re.fullmatch(r"\+[1-9]\d{6,14}", compact):
        raise ValueError("not an E.164 phone number (+ country code and number)")
    return compact


def _plausible_birth_date(value: date) -> date:
    if not EARLIEST <= value <= date.today():
        raise ValueError("birth date is not plausible")
    return value


Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@\-]+$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")]
Phone = Annotated[str, AfterValidator(_phone)]
Country = Annotated[str, AfterValidator(_country)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


CampaignEvent = Literal["send", "open", "click", "bounce", "unsubscribe"]
MAX_CLOCK_SKEW = timedelta(days=1)
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)


def _event(value: str) -> str:
    """Platforms write `opened`, `Click`, `bounced`, `unsubscribed`…"""
    word = value.strip().lower()
    return {"sent": "send", "opened": "open", "clicked": "click", "bounced": "bounce", "unsubscribed": "unsubscribe"}.get(word, word)


@cache
def models_for(today: date) -> dict[Kind, type[BaseModel]]:
    """The row models, with "not in the future" meaning after `today` + a day of clock skew.

    Built once per day: the date bounds are pydantic constraints checked inside
    pydantic-core, several times faster per row than a Python validator.
    Dates without a time zone are read as UTC.
    """
    latest = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + MAX_CLOCK_SKEW + timedelta(days=1)
    Moment = Annotated[datetime, Field(ge=EARLIEST_MOMENT, le=latest)]  # noqa: N806

    class CustomerRow(BaseModel):
        model_config = ConfigDict(extra="ignore")

        customer_id: Id
        email: Email | None = None
        phone: Phone | None = None
        first_name: Name | None = None
        last_name: Name | None = None
        birth_date: Annotated[date, AfterValidator(_plausible_birth_date)] | None = None
        country: Country | None = None
        email_opt_in: bool | None = None
        sms_opt_in: bool | None = None
        created_at: Moment | None = None
        updated_at: Moment | None = None

    class OrderRow(BaseModel):
        model_config = ConfigDict(extra="ignore")

        order_id: Id
        customer_id: Id
        ordered_at: Moment
        amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
        currency: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")]
        quantity: int | None = Field(default=None, ge=0, le=100_000)
        items: str | None = Field(default=None, max_length=4000)

    class CampaignRow(BaseModel):
        model_config = ConfigDict(extra="ignore")

        customer_id: Id
        campaign_id: Id
        event: Annotated[CampaignEvent, BeforeValidator(lambda v: _event(v))]
        occurred_at: Moment

    return {"customers": CustomerRow, "orders": OrderRow, "campaign": CampaignRow}


def models() -> dict[Kind, type[BaseModel]]:
    return models_for(date.today())


REQUIRED: dict[Kind, frozenset[str]] = {
    kind: frozenset(name for name, info in model.model_fields.items() if info.is_required()) for kind, model in models().items()
}
