"""The import pipeline on realistic dirty exports and on CDNOW's real orders (no AWS)."""

from __future__ import annotations

import csv
import importlib.util
import io
from decimal import Decimal
from pathlib import Path

import pytest

from functions.profiles.crm_import.mapping import ColumnMapping, resolve_columns
from functions.profiles.crm_import.pipeline import ImportFailed, run
from functions.profiles.crm_import.reader import sniff_delimiter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm"
CDNOW_MAPPING = ColumnMapping(
    delimiter="whitespace",
    columns={"customer_id": "customer_id", "ordered_at": "date", "quantity": "number_of_cds", "amount": "dollar_value"},
    date_format="%Y%m%d",
    currency="USD",
    derive_order_id=True,
)


def cdnow_path() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None:
        pytest.fail("lifetimes (CDNOW data) is not installed: run `make install`")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_master.txt"


def import_file(kind, path_or_bytes, mapping=ColumnMapping(), chunk_rows=50_000):
    chunks, quarantined = [], []
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    tally, unmapped = run(kind, io.BytesIO(data), mapping, on_chunk=chunks.append, on_quarantine=quarantined.append, chunk_rows=chunk_rows)
    profiles: dict = {}
    for chunk in chunks:
        for customer, aggregate in chunk.profiles.items():
            profiles.setdefault(customer, {}).update(aggregate)
    return tally, unmapped, profiles, quarantined, chunks


def test_every_row_is_accounted_for_in_a_dirty_customer_export():
    tally, unmapped, profiles, quarantined, _ = import_file("customers", FIXTURES / "customers_semicolon_bom.csv")
    assert (tally.rows_read, tally.accepted, tally.duplicates, tally.quarantined) == (7, 4, 1, 2)
    assert tally.rows_read == tally.accepted + tally.duplicates + tally.quarantined
    assert sorted(profiles) == ["C-1001", "C-1002", "C-1003", "C-1004"]
    assert unmapped == ["Loyalty Tier"]
    reasons = {q.row: q.reasons for q in quarantined}
    assert any("customer_id" in r for r in reasons[5])  # the row without an id
    assert reasons[8] == ["expected 11 fields, found 12"]  # one field too many
    assert quarantined[0].raw.startswith(";nobody@example.org")


def test_quoted_fields_bom_case_and_formats_are_normalised():
    _, _, profiles, _, _ = import_file("customers", FIXTURES / "customers_semicolon_bom.csv")
    ben = profiles["C-1002"]
    assert ben["email"] == "ben@example.com" and ben["last_name"] == "Miller; Jr." and ben["country"] == "GB"
    assert ben["phone"] == "+442079460958" and ben["email_opt_in"] is False
    assert profiles["C-1001"]["phone"] == "+491711234567"


def test_invalid_optional_fields_are_dropped_and_count_against_validity():
    tally, _, profiles, _, _ = import_file("customers", FIXTURES / "customers_semicolon_bom.csv")
    chloe, dora = profiles["C-1003"], profiles["C-1004"]
    assert "email" not in chloe and "phone" not in chloe and "birth_date" not in chloe
    assert chloe["first_name"] == "Chloé"
    assert "country" not in dora
    email, country = tally.fields["email"], tally.fields["country"]
    assert (email.filled, email.invalid) == (6, 1)
    assert (country.filled, country.invalid) == (6, 1)
    assert tally.fields["phone"].filled == 4 and tally.fields["phone"].invalid == 1


def test_gzip_orders_with_duplicates_and_bad_rows():
    tally, _, profiles, quarantined, _ = import_file("orders", FIXTURES / "orders.csv.gz")
    assert (tally.rows_read, tally.accepted, tally.duplicates, tally.quarantined) == (8, 4, 1, 3)
    assert sorted(profiles["C-1001"]) == ["O-1", "O-2"]
    assert profiles["C-1005"]["O-7"][2] == "EUR"
    by_row = {q.row: " ".join(q.reasons) for q in quarantined}
    assert "ordered_at" in by_row[6] and "amount" in by_row[7] and "customer_id" in by_row[8]


def test_json_lines_campaign_reactions():
    tally, unmapped, profiles, quarantined, _ = import_file("campaign", FIXTURES / "campaign.jsonl")
    assert (tally.rows_read, tally.accepted, tally.duplicates, tally.quarantined) == (10, 6, 1, 3)
    assert sorted(e[1] for e in profiles["C-1001"].values()) == ["click", "open", "send"]
    reasons = sorted(" ".join(q.reasons) for q in quarantined)
    assert any("not JSON" in r for r in reasons) and any("JSON object" in r for r in reasons) and any("event" in r for r in reasons)
    assert unmapped == []


def test_a_mapping_reads_a_legacy_export():
    mapping = ColumnMapping.model_validate_json((FIXTURES / "legacy_orders.txt.mapping.json").read_text())
    tally, _, profiles, _, _ = import_file("orders", FIXTURES / "legacy_orders.txt", mapping)
    assert (tally.accepted, tally.quarantined) == (3, 0)
    amounts = sorted(Decimal(o[1]) for p in profiles.values() for o in p.values())
    assert amounts == [Decimal("12.50"), Decimal("1200.00"), Decimal("1200.00")]  # two identical orders stay two
    assert {o[0][:10] for o in profiles["C-1001"].values()} == {"2026-01-05"}


def test_derived_order_ids_are_stable_across_drops():
    mapping = ColumnMapping.model_validate_json((FIXTURES / "legacy_orders.txt.mapping.json").read_text())
    first = import_file("orders", FIXTURES / "legacy_orders.txt", mapping)[2]
    again = import_file("orders", FIXTURES / "legacy_orders.txt", mapping)[2]
    assert {c: set(o) for c, o in first.items()} == {c: set(o) for c, o in again.items()}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ((FIXTURES / "not_an_export.bin").read_bytes(), "not a UTF-8"),
        (b"", "empty"),
        (b"email,name\na@b.de,A\n", r"no column for required field\(s\) customer_id"),
        (b"id,id\n1,2\n", "names a column twice"),
    ],
)
def test_an_unreadable_file_fails_with_a_clear_reason(content, reason):
    with pytest.raises(ImportFailed, match=reason):
        import_file("customers", content)


def test_a_mapping_naming_unknown_fields_or_columns_fails():
    with pytest.raises(ImportFailed, match="do not have: shoe_size"):
        import_file("customers", b"id\n1\n", ColumnMapping(columns={"shoe_size": "id"}))
    with pytest.raises(ImportFailed, match="not in the file: CUST"):
        import_file("customers", b"id\n1\n", ColumnMapping(columns={"customer_id": "CUST"}))


def test_synonyms_and_delimiter_sniffing():
    resolved, unmapped = resolve_columns("orders", ["Order Number", "Client ID", "Order Date", "Total", "Währung"], ColumnMapping())
    assert resolved == {"order_id": "Order Number", "customer_id": "Client ID", "ordered_at": "Order Date", "amount": "Total"}
    assert unmapped == ["Währung"]
    assert sniff_delimiter('a;b;"c;d"') == ";" and sniff_delimiter("a\tb") == "\t" and sniff_delimiter(" a  b ") == "whitespace"


def test_chunks_bound_the_aggregation_state():
    tally, _, _, _, chunks = import_file("orders", FIXTURES / "orders.csv.gz", chunk_rows=2)
    # The repeated O-2 lands in a later chunk than the first: the pipeline passes it on
    # and the store's merge finds it already imported (see the integration tests).
    assert [c.rows for c in chunks] == [2, 2, 1]
    assert sum(c.rows for c in chunks) == tally.accepted == 5


def test_cdnow_imports_cleanly_and_adds_up():
    path = cdnow_path()
    tally, unmapped, profiles, quarantined, _ = import_file("orders", path, CDNOW_MAPPING, chunk_rows=10**9)
    with path.open() as f:
        lines = [line.split() for line in f][1:]
    assert (tally.rows_read, tally.accepted, tally.quarantined) == (len(lines), len(lines), 0) == (69_659, 69_659, 0)
    assert len(profiles) == len({line[0] for line in lines}) == 23_570
    imported = sum(Decimal(order[1]) for orders in profiles.values() for order in orders.values())
    assert imported == sum(Decimal(line[3]) for line in lines)
    assert quarantined == [] and unmapped == []
