"""The 64 tables of the Dynaccount seed: fields, types, writable vs read-only, references.

Each table is declared as one line of tokens ``[~]field[:type]``: ``~`` marks a read-only field, the type is
``m`` (money, two decimals, stored as integer hundredths), ``i`` (integer), ``s`` (text), ``d`` (date),
``b`` (``YES``/``NO``) or ``e(A|B)`` (one of). Without a type the name decides: ``id``/``*_id``/``*_id_`` are
integers, ``is_*`` booleans, ``time*`` dates, the rest text. References (``*_name``, ``*_id_`` of another
table) are resolved from ``REFERENCES``. Fields starting with ``_`` are internal columns, never exposed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MONEY, INT, TEXT, DATE, BOOL, ENUM = "money", "int", "text", "date", "bool", "enum"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    writable: bool
    choices: tuple[str, ...] = ()


@dataclass
class Table:
    name: str
    fields: dict[str, Field]
    key: str | None = None  # the unique human key (``name`` or a ``*_id_`` number), referenced by others
    readonly_table: str | None = None  # why put/delete are refused (rows come from actions)
    internal: tuple[str, ...] = ()  # hidden columns ("_remaining", "_data", …)
    public: tuple[str, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        self.public = tuple(self.fields)


_ADDRESS = "address zip city ref_country_name"
_DOC = (
    "~id ~module_id module_id_ time currency_name ~currency_rate:m payment_name txt name attention_name "
    + _ADDRESS
    + " ~vat_amount:m ~total_amount:m"
)
_LINE = "~id product_id_ txt qty:m unit_name price:m discount_percent:m vatcode_name ~amount:m sort:i"

_DEFINITIONS: dict[str, str] = {
    "account": "~id account_id_ name type:e(BALANCE|PROFIT|SUM|HEADER) is_monitored vatcode_name "
    "sum_account_id_:i ref_currency_name is_dimension ~balance:m",
    "accounting": "~id name vatno address zip city ref_country_name ref_currency_name email phone",
    "accounting_bank": "~id name bank_name account_id_ reg_no account_no iban swift",
    "bank": "~id name reg_no swift",
    "bank_recon": "~id account_id_ time txt amount:m ~is_matched",
    "contact": "~id ~module_id module_id_ ~time_created time_followup txt name",
    "contact_user": "~id contact_id name position phone email",
    "creditor": "~id module_id_ module_group_name name " + _ADDRESS + " phone email vatno payment_name "
    "vatcode_name ref_currency_name ~balance:m",
    "creditor_accounting_module": "~id ~module_id ~module_id_ ~type ~invoice_id_ ~enc_id_ ~time ~txt "
    "~amount:m ~currency_name ~currency_amount:m ~currency_rate:m ~is_booked ~is_matched",
    "creditor_group": "~id name account_id_",
    "creditor_invoice": _DOC + " invoice_id_ ~is_booked ~is_matched ~time_due",
    "creditor_invoice_match": "~id ~time ~invoice_id_ ~amount:m ~currency_rate:m ~currency_amount:m",
    "creditor_invoice_product": "invoice_id " + _LINE,
    "creditor_order": _DOC + " ~order_id_ ~is_approved",
    "creditor_order_product": "order_id " + _LINE,
    "creditor_order_product_serialno": "~id order_product_id serialno",
    "currency": "~id name txt rate:m",
    "data_voucher": "~id ~label ~from_name ~file_name ~mime ~size:i ~time_created ~enc_id_",
    "debtor": "~id module_id_ module_group_name name attention_name attention_position attention_phone "
    "attention_email " + _ADDRESS + " phone email email_invoice email_statement vatno ean lang "
    "payment_name vatcode_name ref_currency_name payment_method credit_max:m discount_percent:m note "
    "dlv_name dlv_address dlv_zip dlv_city dlv_ref_country_name ~contact_id ~balance:m ~due:m ~is_blocked",
    "debtor_accounting_module": "~id ~module_id ~module_id_ ~type ~invoice_id_ ~enc_id_ ~time ~time_due:s "
    "~txt ~amount:m ~currency_name ~currency_amount:m ~currency_rate:m ~is_booked ~is_matched",
    "debtor_creditnote": "~id ~module_id ~module_id_ ~invoice_id_ ~credit_invoice_id_ ~time ~is_booked "
    "~is_matched ~currency_name ~currency_rate:m ~vat_amount:m ~total_amount:m ~txt",
    "debtor_creditnote_product": "~id ~creditnote_id ~txt ~qty:m ~price:m ~vatcode_name ~amount:m",
    "debtor_creditnote_product_list": "~id ~creditnote_product_id ~product_id_ ~qty:m",
    "debtor_group": "~id name account_id_ txt",
    "debtor_group_product_discount": "~id debtor_group_name product_id_ discount_percent:m",
    "debtor_group_product_group_discount": "~id debtor_group_name product_group_name discount_percent:m",
    "debtor_invoice": "~id ~module_id module_id_ time payment_name currency_name order_id_:i txt "
    "attention_name " + _ADDRESS + " ~invoice_id_ ~is_booked ~is_matched ~is_credited "
    "~is_credited_complete ~is_reminder ~time_due ~currency_rate:m ~fi_payment_id_:s ~vat_amount:m "
    "~total_amount:m ~public_url",
    "debtor_invoice_match": "~id ~module_id ~module_id_ ~time ~invoice_id_ ~creditnote_id_ ~payment_id "
    "~amount:m ~currency_rate:m ~currency_amount:m ~is_creditnote ~is_matched",
    "debtor_invoice_product": "invoice_id " + _LINE,
    "debtor_invoice_product_list": "~id invoice_product_id product_id_ qty:m",
    "debtor_order": _DOC + " ~order_id_ ~is_approved",
    "debtor_order_product": "order_id " + _LINE,
    "debtor_order_product_list": "~id order_product_id product_id_ qty:m",
    "debtor_order_product_serialno": "~id order_product_id serialno",
    "debtor_product_discount": "~id module_id_ product_id_ discount_percent:m",
    "debtor_product_group_discount": "~id module_id_ product_group_name discount_percent:m",
    "debtor_reminder": "~id ~module_id module_id_ time ~invoice_id_ fee:m txt",
    "debtor_quote": _DOC + " ~quote_id_",
    "debtor_quote_product": "quote_id " + _LINE,
    "debtor_quote_product_list": "~id quote_product_id product_id_ qty:m",
    "debtor_subscription": "~id module_id_ debtor_subscription_group_name time_start time_end ~is_active",
    "debtor_subscription_group": "~id name interval:i time_next ~is_active",
    "debtor_subscription_group_product": "~id debtor_subscription_group_name product_id_ qty:m price:m",
    "debtor_subscription_group_product_list": "~id subscription_group_product_id product_id_ qty:m",
    "debtor_subscription_product": "~id debtor_subscription_id product_id_ qty:m price:m",
    "debtor_subscription_product_list": "~id subscription_product_id product_id_ qty:m",
    "dimension": "~id name txt",
    "draft": "~id time enc_id_ type:e(FINANCE|DEBTOR|CREDITOR) account_id_ module_id_ invoice_id_:i txt "
    "amount:m currency_name ~currency_rate:m vatcode_name accountoff_id_:i",
    "enclosure": "~id ~enc_id_ ~time ~txt ~amount:m ~type",
    "followup": "~id contact_id time txt ~is_completed",
    "location": "~id name txt",
    "opportunity": "~id module_id_ name amount:m status:e(OPEN|WON|LOST) time",
    "payment": "~id name type:e(NET|CURRENT_MONTH) days:i",
    "product": "~id product_id_ name product_group_name unit_name price:m cost_price:m vatcode_name "
    "ean is_stock ~stock:m",
    "product_currency": "~id product_id_ currency_name price:m",
    "product_group": "~id name account_id_",
    "product_list": "~id name txt",
    "product_list_product": "~id product_list_name product_id_ qty:m",
    "product_supplier": "~id product_id_ creditor_module_id_:i supplier_product_no price:m",
    "stock_adjustment": "~id product_id_ time qty:m txt location_name",
    "unit": "~id name",
    "vatcode": "~id account_id_ ~account_name accountoff_id_:i ~accountoff_name name type:e(NET|GROSS) "
    "percent:m deduction_percent:m txt",
    "year": "~id name time_from time_to ~is_closed",
    "year_period": "~id year_name name time_from time_to",
}

_KEYS = {
    "account": "account_id_",
    "creditor": "module_id_",
    "debtor": "module_id_",
    "product": "product_id_",
    "currency": "name",
    "payment": "name",
    "vatcode": "name",
    "debtor_group": "name",
    "creditor_group": "name",
    "unit": "name",
    "product_group": "name",
    "dimension": "name",
    "location": "name",
    "bank": "name",
    "product_list": "name",
    "debtor_subscription_group": "name",
    "year": "name",
}

_READONLY_TABLES = {
    "debtor_creditnote": "rows are created by the action credit_debtor_invoice",
    "debtor_creditnote_product": "rows are created by the action credit_debtor_invoice",
    "debtor_creditnote_product_list": "rows are created by the action credit_debtor_invoice",
    "debtor_accounting_module": "postings are created by "
    "book_debtor_invoice, credit_debtor_invoice and book_draft",
    "debtor_invoice_match": "matches are created by credit_debtor_invoice and book_draft",
    "creditor_accounting_module": "postings are created by book_creditor_invoice",
    "creditor_invoice_match": "matches are created when creditor payments are booked",
    "data_voucher": "vouchers are created by upload_voucher",
    "enclosure": "vouchers are created by book_draft",
}

_INTERNAL = {
    "debtor_invoice": ("_remaining", "_credited"),
    "debtor_creditnote": ("_remaining",),
    "debtor_accounting_module": ("_remaining",),
    "data_voucher": ("_data",),
}

# field name -> (table, key column) it references. ``module_id_`` points at creditor in creditor_* tables.
REFERENCES: dict[str, tuple[str, str]] = {
    "vatcode_name": ("vatcode", "name"),
    "payment_name": ("payment", "name"),
    "currency_name": ("currency", "name"),
    "ref_currency_name": ("currency", "name"),
    "module_group_name": ("debtor_group", "name"),
    "debtor_group_name": ("debtor_group", "name"),
    "unit_name": ("unit", "name"),
    "product_group_name": ("product_group", "name"),
    "location_name": ("location", "name"),
    "bank_name": ("bank", "name"),
    "product_list_name": ("product_list", "name"),
    "debtor_subscription_group_name": ("debtor_subscription_group", "name"),
    "year_name": ("year", "name"),
    "account_id_": ("account", "account_id_"),
    "module_id_": ("debtor", "module_id_"),
    "product_id_": ("product", "product_id_"),
    "creditor_module_id_": ("creditor", "module_id_"),
}

_TOKEN = re.compile(r"^(~?)([a-z_][a-z0-9_]*)(?::(m|i|s|d|b|e\(([A-Z_|]+)\)))?$")
_CODES = {"m": MONEY, "i": INT, "s": TEXT, "d": DATE, "b": BOOL}


def _default_type(name: str) -> str:
    if name == "id" or name.endswith(("_id", "_id_")):
        return INT
    if name.startswith("is_"):
        return BOOL
    if name.startswith("time"):
        return DATE
    return TEXT


def _parse(table: str, spec: str) -> Table:
    fields: dict[str, Field] = {}
    for token in spec.split():
        match = _TOKEN.match(token)
        if match is None:  # pragma: no cover - a typo in the declarations above
            raise ValueError(f"bad field token {token!r} in {table}")
        readonly, name, code, choices = match.groups()
        if choices:
            kind = ENUM
        elif code:
            kind = _CODES[code]
        else:
            kind = _default_type(name)
        fields[name] = Field(name, kind, not readonly, tuple(choices.split("|")) if choices else ())
    fields = {"id": fields.pop("id", Field("id", INT, False)), **fields}
    return Table(
        table,
        fields,
        key=_KEYS.get(table),
        readonly_table=_READONLY_TABLES.get(table),
        internal=_INTERNAL.get(table, ()),
    )


TABLES: dict[str, Table] = {name: _parse(name, spec) for name, spec in sorted(_DEFINITIONS.items())}


def reference_for(table: str, field_name: str) -> tuple[str, str] | None:
    """The (table, column) a field refers to, or None (a table's own key is not a reference)."""
    target = REFERENCES.get(field_name)
    if target is None:
        return None
    if target[0] == table and target[1] == field_name:
        return None
    if field_name == "module_id_" and table.startswith("creditor"):
        return ("creditor", "module_id_")
    if field_name == "module_group_name" and table == "creditor":
        return ("creditor_group", "name")
    return target
