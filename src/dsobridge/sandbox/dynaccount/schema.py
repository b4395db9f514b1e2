"""The 64 tables of the Dynaccount seed: fields, types, writable vs read-only, references.

Field names follow ``../shared/spec/dynaccount-fields.md`` (what public clients of the real API read and
send): every name it lists exists in its table. Each table is declared as one line of tokens
``[~|!]field[:type]``:

- ``~`` marks a read-only field: returned by get, never set by a put;
- ``!`` a field set once, on create (a parent's row id such as ``contact_user.contact_id``), read-only after;
- the type is ``m`` (money or a quantity, two decimals, stored as integer hundredths), ``i`` (integer), ``s``
  (text), ``d`` (date), ``b`` (``YES``/``NO``) or ``e(A|B)`` (one of; ``e(|A|B)`` allows empty). Without a
  type the name decides: ``id``/``*_id``/``*_id_`` are integers, ``is_*`` booleans, ``time*`` dates, the rest
  text.

``REAL_READ_ONLY`` transcribes section A of the fields page: the fields the real API returns on get and that
its v5-era client leaves out of a put. A put that sends one of them anyway is not refused: the value is
ignored (clients read a row and send it back). Our own read-only fields (``~`` but not in section A) are
ignored when sent back unchanged and refused when a put tries to change them.

References (``*_name``, ``*_id_`` of another table) are resolved from ``REFERENCES``.
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
    create_only: bool = False  # writable on create, read-only afterwards
    real_read_only: bool = False  # section A: ignored (not refused) when a put sends it


@dataclass
class Table:
    name: str
    fields: dict[str, Field]
    key: str | None = None  # the unique human key (``name`` or a ``*_id_`` number), referenced by others
    readonly_table: str | None = None  # why creating or changing rows is refused (rows come from actions)
    internal: tuple[str, ...] = ()  # hidden columns ("_remaining", "_data", …)
    blank_as_zero: frozenset[str] = (
        frozenset()
    )  # integer fields answered "" when 0 (the seed's accountoff_id_)
    public: tuple[str, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        self.public = tuple(self.fields)


_ADDRESS = "address zip city ref_country_name"
_DELIVERY = "dlv_attention dlv_name dlv_address dlv_zip dlv_city dlv_ref_country_name"
# documents (invoice, order, quote; creditor invoice and order): header fields, then their totals
_DOC = (
    "~id ~module_id module_id_ time currency_name ~currency_rate:m payment_name dimension_name lang "
    f"requisition time_delivery discount_percent:m txt name attention {_ADDRESS} {_DELIVERY} "
    "~vat_amount:m ~total_amount:m ~total_weight:m"
)
# document lines: what a client sends (the official library's order line), then what the server computes
_LINE_IN = (
    "product_id_ ~product_id name txt product_type qty:m unit_name price:m "
    "discount_type:e(|PERCENT|AMOUNT) discount_value:m vatcode_name sort:i"
)
_LINE = f"~id {_LINE_IN} ~total_amount:m ~vat_amount:m ~total_weight:m"
_SALES_LINE = f"{_LINE} ~profit_amount:m ~is_list_listing ~is_list_pricing"
# the components of a line whose product is a product list (rows made by the server)
_LIST_LINE = (
    "~id ~product_id ~product_id_ ~name ~qty:m ~list_qty:m ~price:m ~discount_percent:m ~total_amount:m "
    "~vat_amount:m ~profit_amount:m ~total_weight:m"
)
_SERIALNO = "~id !order_product_id ~order_id ~seq:i serialno ~is_booked"

_DEFINITIONS: dict[str, str] = {
    "account": "~id account_id_ name type:e(BALANCE|PROFIT|SUM|HEADER) is_monitored vatcode_name "
    "sum_account_id_:i accountoff_id_:i ref_currency_name is_dimension ~is_bank ~module:s ~stock:b ~system:b",
    "accounting": "~id enclosure_id type:e(LEDGER|DEBTOR_INVOICE) account_id_:i accountoff_id_:i "
    "vatcode_name dimension_name dimensionoff_name invoice_id_:i invoice_time_due:d fi_payment_id_:s "
    "currency_name amount:m currency_rate:m ~currency_amount:m ~time ~is_readonly ~bank_recon_id:i",
    "accounting_bank": "~id account_id_ ~account_id txt ~time ~amount:m ~currency_amount:m ~is_booked "
    "~accounting_id:i ~recon_id:i",
    "bank": "~id name account_id_ ~account_id reg_no account_no iban swift",
    "bank_recon": "~id ~account_id ~accounting_id:i ~recon_id:i ~seq:i ~time ~txt ~amount:m ~accum_amount:m "
    "~is_fi_payment",
    "contact": "~id ~module_id module_id_ name txt ~time_created ~time_last_followup ~time_next_followup",
    "contact_user": "~id !contact_id name position phone email",
    "creditor": f"~id module_id_ module_group_name name {_ADDRESS} phone email vatno payment_name "
    "vatcode_name ref_currency_name ~balance:m ~vatno_validation:s",
    "creditor_accounting_module": "~id ~module_id ~module_id_ ~type ~invoice_id_ ~enc_id_ ~time ~txt "
    "~amount:m ~currency_name ~currency_amount:m ~currency_rate:m ~is_booked ~is_matched",
    "creditor_group": "~id name account_id_",
    "creditor_invoice": f"{_DOC} invoice_id_ ~enc_id_ ~accountoff_id:i ~is_booked ~is_matched ~is_system "
    "~time_due",
    "creditor_invoice_match": "~id ~time ~invoice_id_ ~amount:m ~currency_rate:m ~currency_amount:m "
    "~is_matched",
    "creditor_invoice_product": f"invoice_id {_LINE}",
    "creditor_order": f"{_DOC} ~order_id_ ~is_approved ~is_invoiced ~is_seen ~profit_amount:m",
    "creditor_order_product": f"order_id {_LINE} ~qty_invoiced:m",
    "creditor_order_product_serialno": _SERIALNO,
    "currency": "~id name txt rate:m",
    "data_voucher": "~id ~label ~from_name ~from_email ~file_name ~file_ext ~file_ext_thumb ~mime "
    "~file_sha1 ~file_size:i ~file_size_original:i ~num_pages:i ~dpi:i ~is_pic ~is_pdf_scan ~is_pdf_broken "
    "~is_attached ~is_ocr_pending ~ocr_invoice_time:d ~ocr_invoice_due_time:d ~ocr_total:m ~ocr_vat:m "
    "~ocr_vatno:s ~client_id:i ~user_id:i ~time",
    "debtor": "~id module_id_ module_group_name name attention_name attention_position attention_phone "
    f"attention_email {_ADDRESS} phone email email_invoice email_statement vatno ean ean_contact lang "
    "payment_name vatcode_name ref_currency_name payment_method bank_name credit_max:m discount_percent:m "
    f"note {_DELIVERY} dlv_phone dlv_email invoicing_module_id_:i invoicing_module_attention "
    "~contact_id ~balance:m ~due:m ~is_blocked ~vatno_validation:s ~time_vatno_validation",
    "debtor_accounting_module": "~id ~module_id ~module_id_ ~type ~invoice_id_ ~enc_id_ ~time ~time_due:s "
    "~txt ~amount:m ~currency_name ~currency_amount:m ~currency_rate:m ~is_booked ~is_matched",
    "debtor_creditnote": "~id ~module_id ~module_id_ ~invoice_id_ ~credit_invoice_id_ ~time ~is_booked "
    "~is_matched ~currency_name ~currency_rate:m ~vat_amount:m ~total_amount:m ~txt ~attention ~address "
    "~zip ~city ~lang ~profit_amount:m ~total_weight:m ~sha1_ref:s",
    "debtor_creditnote_product": "~id ~creditnote_id ~product_id_ ~product_id ~name ~txt ~qty:m ~unit_name "
    "~price:m ~vatcode_name ~total_amount:m ~vat_amount:m ~total_weight:m ~profit_amount:m ~qty_credited:m "
    "~is_list_listing ~is_list_pricing",
    "debtor_creditnote_product_list": f"~creditnote_product_id ~invoice_product_id {_LIST_LINE}",
    "debtor_group": "~id name account_id_ txt payment_name vatcode_name ref_currency_name payment_method "
    "bank_name lang",
    "debtor_group_product_discount": "~id debtor_group_name product_id_ ~product_id discount_percent:m",
    "debtor_group_product_group_discount": "~id debtor_group_name product_group_name ~product_group_id "
    "discount_percent:m",
    "debtor_invoice": f"{_DOC} order_id_:i ~invoice_id_ ~is_booked ~is_matched ~is_credited "
    "~is_credited_complete ~is_reminder ~is_seen ~is_subscription ~is_system ~time_due ~fi_payment_id_:s "
    "~accountoff_id:i ~profit_amount:m ~public_url ~sha1_ref:s",
    "debtor_invoice_match": "~id ~module_id ~module_id_ ~time ~invoice_id_ ~creditnote_id_ ~payment_id "
    "~amount:m ~currency_rate:m ~currency_amount:m ~is_creditnote ~is_matched",
    "debtor_invoice_product": f"invoice_id {_SALES_LINE} ~qty_credited:m",
    "debtor_invoice_product_list": f"~invoice_product_id {_LIST_LINE}",
    "debtor_order": f"{_DOC} ~order_id_ ~is_approved ~is_invoiced ~is_seen ~profit_amount:m",
    "debtor_order_product": f"order_id {_SALES_LINE} ~qty_invoiced:m",
    "debtor_order_product_list": f"~order_product_id {_LIST_LINE}",
    "debtor_order_product_serialno": _SERIALNO,
    "debtor_product_discount": "~id module_id_ product_id_ ~product_id discount_percent:m",
    "debtor_product_group_discount": "~id module_id_ product_group_name ~product_group_id discount_percent:m",
    "debtor_reminder": "~id ~module_id ~module_id_ ~name ~balance:m ~reminder_level:i ~reminder_time:d "
    "~reminder_time_due:d ~is_fi_payment fee:m txt",
    "debtor_quote": f"{_DOC} ~quote_id_ ~is_seen ~is_transferred_time:d ~profit_amount:m",
    "debtor_quote_product": f"quote_id {_SALES_LINE}",
    "debtor_quote_product_list": f"~quote_product_id {_LIST_LINE}",
    "debtor_subscription": "~id module_id_ debtor_subscription_group_name time_start time_end ~is_active",
    "debtor_subscription_group": "~id name interval:i ~time_next_charge ~is_active ~total_amount:m "
    "~vat_amount:m ~profit_amount:m ~total_weight:m",
    "debtor_subscription_group_product": f"debtor_subscription_group_name {_SALES_LINE}",
    "debtor_subscription_group_product_list": f"~subscription_group_product_id {_LIST_LINE}",
    "debtor_subscription_product": f"debtor_subscription_id {_SALES_LINE}",
    "debtor_subscription_product_list": f"~subscription_product_id {_LIST_LINE}",
    "dimension": "~id name txt",
    "draft": "~id name",
    "enclosure": "~id draft_id time enc_id_ txt note dimension_name ~dimension_id ~is_booked "
    "~balance_amount:m ~vat_amount:m ~profit_amount:m ~system:b",
    "followup": "~id !contact_id time txt ~is_finished",
    "location": "~id name txt",
    "opportunity": "~id !contact_id module_id_ name amount:m ~status:e(OPEN|WON|LOST) ~time_start "
    "~is_ended_time:d ~time_last_followup ~time_next_followup",
    "payment": "~id name type:e(NET|CURRENT_MONTH) days:i",
    "product": "~id product_id_ name product_group_name unit_name price:m vatcode_name ean weight:m "
    "~product_group_id ~price_cost:m ~profit_ratio:m ~in_stock:m ~in_order:m ~in_supplier_order:m "
    "~is_stocked ~time_stock_change ~type:s ~block_id",
    "product_currency": "~id product_id_ currency_name price:m ~seq:i",
    "product_group": "~id name account_id_ ~block_id",
    "product_list": "~id name txt ~price_sale:m",
    "product_list_product": "~id product_list_name product_id_ ~product_id qty:m ~block_id",
    "product_supplier": "~id product_id_ module_id_ ~module_id supplier_product_no price:m",
    "stock_adjustment": "~id product_id_ ~product_id time qty:m txt location_name",
    "unit": "~id name",
    "vatcode": "~id account_id_ ~account_name accountoff_id_:i ~accountoff_name name type:e(NET|GROSS) "
    "percent:m deduction_percent:m txt",
    "year": "~id name !time_start !time_end ~is_closed ~enc_next_id_:i",
    "year_period": "~id year_name name time_from time_to",
}

# Section A of dynaccount-fields.md, table by table: returned by get, left out of a put by the real client.
REAL_READ_ONLY: dict[str, str] = {
    "account": "id is_bank module stock system",
    "accounting": "bank_recon_id currency_amount id is_readonly time",
    "accounting_bank": "account_id accounting_id amount currency_amount id is_booked recon_id time",
    "bank": "account_id id",
    "bank_recon": "account_id accounting_id accum_amount amount id is_fi_payment recon_id seq time txt",
    "contact": "id module_id time_created time_last_followup time_next_followup",
    "contact_user": "contact_id id",
    "creditor": "balance id vatno_validation",
    "creditor_accounting_module": "amount currency_amount currency_rate id is_booked is_matched time",
    "creditor_group": "id",
    "creditor_invoice": "accountoff_id currency_rate enc_id_ id is_booked is_matched is_system time_due "
    "total_amount vat_amount",
    "creditor_invoice_match": "amount currency_amount currency_rate id invoice_id_ is_matched time",
    "creditor_invoice_product": "id product_id total_amount total_weight vat_amount",
    "creditor_order": "id is_approved is_invoiced is_seen module_id order_id_ profit_amount total_amount "
    "total_weight vat_amount",
    "creditor_order_product": "id product_id qty_invoiced total_amount total_weight vat_amount",
    "creditor_order_product_serialno": "id is_booked order_id order_product_id seq",
    "currency": "id",
    "data_voucher": "client_id dpi file_ext file_ext_thumb file_name file_sha1 file_size file_size_original "
    "from_email id is_attached is_ocr_pending is_pdf_broken is_pdf_scan is_pic num_pages "
    "ocr_invoice_due_time ocr_invoice_time ocr_total ocr_vat ocr_vatno time user_id",
    "debtor": "balance contact_id due id is_blocked time_vatno_validation vatno_validation",
    "debtor_accounting_module": "amount currency_amount currency_rate id is_booked is_matched time",
    "debtor_creditnote": "address attention city credit_invoice_id_ id invoice_id_ is_booked lang module_id "
    "profit_amount sha1_ref total_amount total_weight txt vat_amount zip",
    "debtor_creditnote_product": "id is_list_listing is_list_pricing product_id profit_amount qty_credited "
    "total_amount total_weight vat_amount",
    "debtor_creditnote_product_list": "discount_percent id invoice_product_id list_qty name price product_id "
    "profit_amount qty total_amount total_weight vat_amount",
    "debtor_group": "id",
    "debtor_group_product_discount": "id product_id",
    "debtor_group_product_group_discount": "id product_group_id",
    "debtor_invoice": "accountoff_id currency_rate fi_payment_id_ id invoice_id_ is_booked is_credited "
    "is_credited_complete is_matched is_reminder is_seen is_subscription is_system module_id profit_amount "
    "public_url sha1_ref time_due total_amount total_weight vat_amount",
    "debtor_invoice_match": "amount currency_amount currency_rate id invoice_id_ is_creditnote is_matched "
    "time",
    "debtor_invoice_product": "id is_list_listing is_list_pricing product_id profit_amount qty_credited "
    "total_amount total_weight vat_amount",
    "debtor_invoice_product_list": "discount_percent id invoice_product_id list_qty name price product_id "
    "profit_amount qty total_amount total_weight vat_amount",
    "debtor_order": "id is_approved is_invoiced is_seen module_id order_id_ profit_amount total_amount "
    "total_weight vat_amount",
    "debtor_order_product": "id is_list_listing is_list_pricing product_id profit_amount qty_invoiced "
    "total_amount total_weight vat_amount",
    "debtor_order_product_list": "discount_percent id list_qty name order_product_id price product_id "
    "profit_amount qty total_amount total_weight vat_amount",
    "debtor_order_product_serialno": "id is_booked order_id order_product_id seq",
    "debtor_product_discount": "id product_id",
    "debtor_product_group_discount": "id product_group_id",
    "debtor_quote": "id is_seen is_transferred_time module_id profit_amount quote_id_ total_amount "
    "total_weight vat_amount",
    "debtor_quote_product": "id is_list_listing is_list_pricing product_id profit_amount total_amount "
    "total_weight vat_amount",
    "debtor_quote_product_list": "discount_percent id list_qty name price product_id profit_amount qty "
    "quote_product_id total_amount total_weight vat_amount",
    "debtor_reminder": "balance id is_fi_payment module_id_ name reminder_level reminder_time "
    "reminder_time_due",
    "debtor_subscription_group": "id is_active profit_amount time_next_charge total_amount total_weight "
    "vat_amount",
    "debtor_subscription_group_product": "id is_list_listing is_list_pricing product_id profit_amount "
    "total_amount total_weight vat_amount",
    "debtor_subscription_group_product_list": "discount_percent id list_qty name price product_id "
    "profit_amount qty total_amount total_weight vat_amount",
    "debtor_subscription_product": "id is_list_listing is_list_pricing product_id profit_amount total_amount "
    "total_weight vat_amount",
    "debtor_subscription_product_list": "discount_percent id list_qty name price product_id profit_amount "
    "qty total_amount total_weight vat_amount",
    "dimension": "id",
    "draft": "id",
    "enclosure": "balance_amount dimension_id id is_booked profit_amount system vat_amount",
    "followup": "contact_id id is_finished",
    "location": "id",
    "opportunity": "contact_id id is_ended_time status time_last_followup time_next_followup time_start",
    "payment": "id",
    "product": "block_id id in_order in_stock in_supplier_order is_stocked price_cost product_group_id "
    "profit_ratio time_stock_change type",
    "product_currency": "id seq",
    "product_group": "block_id id",
    "product_list": "id price_sale",
    "product_list_product": "block_id id product_id",
    "product_supplier": "id module_id",
    "stock_adjustment": "id product_id",
    "unit": "id",
    "vatcode": "id",
    "year": "enc_next_id_ id is_closed time_end time_start",
    "year_period": "id",
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
    "draft": "name",
}

_BY_ACTION = "rows are created by the action"
_LISTS = (
    "rows are made by the server when a line's product is a product list, which the sandbox does not emulate"
)
_READONLY_TABLES = {
    "debtor_creditnote": f"{_BY_ACTION} credit_debtor_invoice",
    "debtor_creditnote_product": f"{_BY_ACTION} credit_debtor_invoice",
    "debtor_accounting_module": "postings are created by book_debtor_invoice, credit_debtor_invoice and "
    "book_draft",
    "debtor_invoice_match": "matches are created by credit_debtor_invoice and book_draft",
    "debtor_reminder": "reminders are created by send_debtor_reminder, which the sandbox does not emulate",
    "creditor_accounting_module": "postings are created by book_creditor_invoice, which the sandbox does "
    "not emulate",
    "creditor_invoice_match": "matches are created when creditor payments are booked",
    "data_voucher": f"{_BY_ACTION} upload_voucher",
    "accounting_bank": "bank transactions come from the bank feed",
    "bank_recon": "rows are created by bank reconciliation, which the sandbox does not emulate",
    **{
        name: _LISTS
        for name in (
            "debtor_creditnote_product_list",
            "debtor_invoice_product_list",
            "debtor_order_product_list",
            "debtor_quote_product_list",
            "debtor_subscription_group_product_list",
            "debtor_subscription_product_list",
        )
    },
}
# A bank transaction's text and ledger account may be edited (the transaction itself comes from the bank).
EDITABLE_IN_READONLY_TABLE = {"accounting_bank": frozenset({"account_id_", "txt"})}

_INTERNAL = {
    "debtor_invoice": ("_remaining", "_credited"),
    "debtor_creditnote": ("_remaining",),
    "debtor_accounting_module": ("_remaining",),
    "data_voucher": ("_data",),
}

# Optional numbers answered "" when unset, as the seed's vatcode rows answer ``"accountoff_id_" : ""``.
_BLANK_AS_ZERO = {
    "account": "sum_account_id_ accountoff_id_",
    "vatcode": "accountoff_id_",
    "accounting": "account_id_ accountoff_id_ invoice_id_ bank_recon_id",
    "debtor": "invoicing_module_id_",
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
    "dimension_name": ("dimension", "name"),
    "dimensionoff_name": ("dimension", "name"),
    "account_id_": ("account", "account_id_"),
    "sum_account_id_": ("account", "account_id_"),
    "module_id_": ("debtor", "module_id_"),
    "invoicing_module_id_": ("debtor", "module_id_"),
    "product_id_": ("product", "product_id_"),
}
_TOKEN = re.compile(r"^([~!]?)([a-z_][a-z0-9_]*)(?::(m|i|s|d|b|e\(([A-Z_|]+)\)))?$")
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
    real = frozenset(REAL_READ_ONLY.get(table, "").split())
    fields: dict[str, Field] = {}
    for token in spec.split():
        match = _TOKEN.match(token)
        if match is None:  # pragma: no cover - a typo in the declarations above
            raise ValueError(f"bad field token {token!r} in {table}")
        mark, name, code, choices = match.groups()
        if choices is not None:
            kind = ENUM
        elif code:
            kind = _CODES[code]
        else:
            kind = _default_type(name)
        options = tuple(choices.split("|")) if choices is not None else ()
        fields[name] = Field(name, kind, mark == "", options, mark == "!", name in real)
    fields.pop("id", None)
    fields = {"id": Field("id", INT, False, real_read_only=True), **fields}  # a row id sent back is ignored
    missing = real - {name for name, f in fields.items() if not f.writable}
    if missing:  # pragma: no cover - every section A field is declared read-only
        raise ValueError(f"{table}: section A fields not declared read-only: {sorted(missing)}")
    return Table(
        table,
        fields,
        key=_KEYS.get(table),
        readonly_table=_READONLY_TABLES.get(table),
        internal=_INTERNAL.get(table, ()),
        blank_as_zero=frozenset(_BLANK_AS_ZERO.get(table, "").split()),
    )


TABLES: dict[str, Table] = {name: _parse(name, spec) for name, spec in sorted(_DEFINITIONS.items())}


def reference_for(table: str, field_name: str) -> tuple[str, str] | None:
    """The (table, column) a field refers to, or None (a table's own key is not a reference).

    ``accounting.accountoff_id_`` depends on the line's type (a ledger account or a debtor): ``crud`` checks
    it.
    """
    if table == "accounting" and field_name == "accountoff_id_":
        return None
    if field_name == "accountoff_id_":
        return ("account", "account_id_")
    target = REFERENCES.get(field_name)
    if target is None:
        return None
    if target[0] == table and target[1] == field_name:
        return None
    if field_name == "module_id_" and (table.startswith("creditor") or table == "product_supplier"):
        return ("creditor", "module_id_")
    if field_name == "module_group_name" and table == "creditor":
        return ("creditor_group", "name")
    return target
