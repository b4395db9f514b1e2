"""Which Dynaccount fields a sync reads: the ``select=`` list of every extracted table.

A sync asks each table only for the fields it uses, so Dynaccount sends (and the sync decodes) less. The list
is derived from the mapping configuration: the base fields the mapper and the open-item rule read, plus every
field a configured override template names (``"{ean}"`` → ``ean``). A table missing from the result is read
whole (``contact_user``: its field names are not public, the mapper tries several).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping

from dsobridge.sync.config import MappingConfig

# the fields read by Mapper.debtor_info / client / debtor_contacts and by the engine (id → number)
DEBTOR_FIELDS = (
    "id",
    "module_id_",
    "module_group_name",
    "name",
    "attention_name",
    "attention_position",
    "attention_phone",
    "attention_email",
    "address",
    "zip",
    "city",
    "ref_country_name",
    "phone",
    "email",
    "email_statement",
    "vatno",
    "payment_name",
    "ref_currency_name",
    "credit_max",
    "balance",
    "is_blocked",
)
# the engine links a contact card to its debtor by number (module_id_) or else by row id (module_id)
CONTACT_FIELDS = ("id", "module_id", "module_id_")
# the open-item rule (openitems.open_items) and the history merge (extract._merge)
INVOICE_FIELDS = (
    "id",
    "module_id_",
    "invoice_id_",
    "is_booked",
    "is_matched",
    "time",
    "time_due",
    "currency_name",
    "order_id_",
    "vat_amount",
    "total_amount",
)
CREDITNOTE_FIELDS = (
    "id",
    "module_id_",
    "invoice_id_",
    "is_booked",
    "is_matched",
    "time",
    "currency_name",
    "vat_amount",
    "total_amount",
)
PAYMENT_FIELDS = (
    "id",
    "module_id_",
    "type",
    "enc_id_",
    "is_matched",
    "time",
    "currency_name",
    "currency_amount",
)
# MatchSums.of, the evidence for clearings (dsobridge.sync.clearing: ids above the mark, sums, dates; a
# targeted run filters the open ones itself) and the history merge
MATCH_FIELDS = (
    "id",
    "invoice_id_",
    "creditnote_id_",
    "payment_id",
    "is_creditnote",
    "is_matched",
    "amount",
    "time",
)

ITEM_TABLES = ("debtor_invoice", "debtor_creditnote", "debtor_accounting_module")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def template_fields(template: str) -> Iterator[str]:
    """The source field names an override template refers to: ``"{name} ({zip})"`` → ``name``, ``zip``.

    ``{row.attr}`` / ``{row[0]}`` name ``row``; fields nested in a format spec (``{a:>{w}}``) count too.
    """
    for _, name, spec, _ in string.Formatter().parse(template):
        if name:
            match = _NAME.match(name)
            if match:
                yield match.group(0)
        if spec and "{" in spec:
            yield from template_fields(spec)


def _with(base: tuple[str, ...], templates: Mapping[str, str]) -> tuple[str, ...]:
    out = dict.fromkeys(base)
    for template in templates.values():
        out.update(dict.fromkeys(template_fields(template)))
    return tuple(out)


def select_fields(config: MappingConfig | None = None) -> dict[str, tuple[str, ...]]:
    """Table → the fields to request with ``select=``, for this mapping configuration.

    Client and contact overrides render over the debtor row (contact overrides also over ``contact_user``
    rows, which are read whole); item overrides over the invoice, credit-note and payment rows, so their
    fields are asked of all three tables. Filters read ``module_id_``, ``module_group_name`` and ``balance``,
    which are in the base set. ``debtor_invoice_match`` is never the source of an override.
    """
    config = config or MappingConfig()
    debtor = _with(DEBTOR_FIELDS, {**config.client_fields, **_prefixed(config.contact_fields)})
    items = config.item_fields
    return {
        "debtor": debtor,
        "contact": CONTACT_FIELDS,
        "debtor_invoice": _with(INVOICE_FIELDS, items),
        "debtor_creditnote": _with(CREDITNOTE_FIELDS, items),
        "debtor_accounting_module": _with(PAYMENT_FIELDS, items),
        "debtor_invoice_match": MATCH_FIELDS,
    }


def _prefixed(templates: Mapping[str, str]) -> dict[str, str]:
    return {f"contact:{k}": v for k, v in templates.items()}  # keys apart from the client overrides'
