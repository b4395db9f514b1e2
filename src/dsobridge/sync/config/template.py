"""The commented ``dsobridge.toml`` that ``dsobridge init`` writes (it loads as written; see tests)."""

from __future__ import annotations

import json

CONFIG_TEMPLATE = """\
# dsobridge.toml — Dynaccount → My DSO Manager. Written by `dsobridge init`; docs/configuration.md explains
# every setting. Any setting can also come from an environment variable DSOBRIDGE_<SECTION>__<KEY>, which
# wins over this file: e.g. DSOBRIDGE_SYNC__MAX_DROP=0.2, DSOBRIDGE_FILTERS__EXCLUDE_GROUPS='["Koncern"]'.
#
# Secrets are NOT kept here. Set them in the environment:
#   DSOBRIDGE_DYNACCOUNT_API_KEY, DSOBRIDGE_DYNACCOUNT_API_SECRET, DSOBRIDGE_MYDSO_PASSWORD
#   and if needed DSOBRIDGE_MYDSO_FTP_PASSWORD (default: the My DSO password), DSOBRIDGE_ALERT_URLS
# or in a secrets file readable by its owner only (chmod 600), named in [secrets].

{secrets_block}
[dynaccount]
api_id = {api_id}                            # Administration > Virksomheder
base_url = {dynaccount_url}
version = "v5"                              # v5 (signed POST bodies) or v7 (X-Hash header)
timeout = 30                                # seconds per request
page_size = 1000                            # rows per page (limit=offset,count), 1..10000
retries = 5                                 # attempts per read (429/5xx/network), with backoff
retry_timeout = 60                          # seconds of retrying per request at most

[mydso]
base_url = {mydso_url}
login = {mydso_login}                     # the API login of the PRO account
delivery = "http"                           # http = /api/, async = /apiPutFiles/, ftp = the file drop
timeout = 120                               # seconds per upload
report_timeout = 600                        # seconds to wait for an async or FTP import report
# ftp_host = "ftp.example.com"              # default: the host of base_url
# ftp_port = 21
# ftp_tls = true                            # explicit TLS (FTPS)
# ftp_cafile = "mydso-ca.pem"               # CA certificate(s) to trust for FTPS (default: the system's)
# ftp_login = "api-login"                   # default: login

[sync]
# state = "dsobridge-state.sqlite3"         # default: <this file's name>-state.sqlite3 beside this file
max_drop = 0.30                             # share by which the debtors per currency may fall between runs
history_months = 0                          # default for `sync --history`; 0 = none
lock_timeout = 600                          # seconds to wait for another run's lock (0 = refuse at once)

[filters]
exclude_groups = []                         # debtor groups never sent, e.g. ["Koncern"] (intercompany)
exclude_debtors = []                        # debtor numbers never sent, e.g. ["10001"]
exclude_zero_balance = false                # leave out clients with balance 0 and no open item

[format]
encoding = "UTF-8"                          # or "ISO-8859-1"
decimal_style = "point"                     # "point" = 6580.10, "space_comma" = 6 580,10
transliterate = false                       # replace characters the encoding cannot hold instead of failing
neutralise_formulas = false                 # prefix cells starting with = + - @ (spreadsheet safety)

[mapping]
client_code_format = "{{number}}"             # e.g. "C{{number:06d}}"
item_number_format = "{{number}}"             # e.g. "{{number:08d}}"
date_format = "%Y-%m-%d"                    # dates written in the files

[mapping.item_types]                        # Dynaccount posting kind → My DSO Manager item_type
INVOICE = "FAC"
CREDITNOTE = "AVO"
PAYMENT = "RGL"                             # FAC, AVO, RGL, ODI, TRT or DPA

[mapping.clients]                           # My DSO Manager column = "{{debtor field}}"; "" blanks a column
# client_field_perso2 = "{{ean}}"

[mapping.contacts]
# contact_function = "{{attention_position}}"

[mapping.items]
# item_field_perso1 = "{{txt}}"

[contacts]
collection = "statement"                    # collection contact: statement e-mail, attention person, or first
statement_name = "Bogholderi"               # last name given to the statement e-mail contact

# One table per My DSO Manager user; portfolio by debtor group and/or debtor number.
# [[users]]
# email = "anne@example.dk"
# firstname = "Anne"
# lastname = "Holm"
# role = "Collector"                        # Administrator, Credit manager, Collector, Sales manager, …
# groups = ["Indland"]
# debtors = ["10001"]

[webhook]                                   # `dsobridge webhook serve`
host = "127.0.0.1"
port = 8088
path = "/dynaccount-webhook/"
# public_url = "https://dsobridge.example.dk/dynaccount-webhook/"   # as configured in Dynaccount
debounce = 2.0                              # seconds of quiet before the DELTA run
max_body = 1048576                          # bytes; a larger body is refused (413)
max_depth = 32                              # JSON nesting

[alerts]
# urls = []                                 # apprise URLs: better in $DSOBRIDGE_ALERT_URLS (they hold tokens)
stale_after_hours = 26                      # alert when no run succeeded for this long
on_failed = true
on_refused = true
on_stale = true

[logging]
level = "info"                              # debug, info, warning or error
format = "text"                             # text or json
"""

_NO_SECRETS_FILE = """\
# [secrets]
# file = "~/.config/dsobridge/secrets.toml"  # TOML: dynaccount_api_key = "…", dynaccount_api_secret = "…",
#                                           # mydso_password = "…"; owner-only (chmod 600)
"""


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def render_template(
    *,
    api_id: int = 0,
    dynaccount_url: str = "https://api.dynaccount.com",
    mydso_url: str = "https://account.mydsomanager.com",
    mydso_login: str = "",
    secrets_file: str | None = None,
) -> str:
    """The commented config file ``dsobridge init`` writes; ``[secrets] file`` only if ``secrets_file``."""
    secrets_block = (
        f"[secrets]\nfile = {_toml_string(secrets_file)}           # owner-only (chmod 600)\n"
        if secrets_file
        else _NO_SECRETS_FILE
    )
    return CONFIG_TEMPLATE.format(
        api_id=api_id,
        dynaccount_url=_toml_string(dynaccount_url),
        mydso_url=_toml_string(mydso_url),
        mydso_login=_toml_string(mydso_login),
        secrets_block=secrets_block,
    )
