"""The role table of SPEC §4, written out once for every test that checks it, independently of
the roles the handlers declare. Routes the SPEC does not list follow their siblings."""

ROLES = ("admin", "technician", "finance", "agent")
STAFF = {"admin", "technician", "finance"}

SPEC_ROLE_TABLE = {  # SPEC §4, as written
    "POST /v1/profiles": {"admin"},
    "GET /v1/profiles": STAFF,
    "GET /v1/profiles/{profile_id}": STAFF,
    "PUT /v1/profiles/{profile_id}": {"admin"},
    "PUT /v1/groups/{group_id}": {"admin"},
    "GET /v1/groups": STAFF,
    "PUT /v1/groups/{group_id}/computers/{computer_id}": {"admin"},
    "PUT /v1/groups/{group_id}/contract": {"admin"},
    "POST /v1/sessions": {"agent", "admin"},
    "POST /v1/sessions/batch": {"agent", "admin"},
    "GET /v1/groups/{group_id}/sessions": STAFF,
    "GET /v1/sessions/{session_id}": STAFF,
    "PATCH /v1/sessions/{session_id}": {"technician", "admin"},
    "POST /v1/sessions/{session_id}/lock": {"technician", "finance", "admin"},
    "POST /v1/groups/{group_id}/lock-all": {"finance", "admin"},
    "GET /v1/groups/{group_id}/totals": STAFF,
    "GET /v1/groups/{group_id}/contracts": STAFF,  # SPEC §12
    "GET /v1/groups/{group_id}/ledger": STAFF,  # SPEC §12
    "GET /v1/events": {"admin", "finance"},  # SPEC §12
    "POST /v1/groups/{group_id}/simulate": {"admin", "finance"},  # SPEC §12
    "POST /v1/groups/{group_id}/recharges": {"admin"},
    "POST /v1/groups/{group_id}/exports": {"finance", "admin"},
    "GET /v1/totals": {"finance", "admin"},  # SPEC §12
    "GET /v1/jobs/{job_id}": {"finance", "admin"},  # SPEC §12
}

ROLE_TABLE = {
    **SPEC_ROLE_TABLE,
    "GET /v1/profiles/{profile_id}/versions": STAFF,  # a profile's versions: read like the profile
    "GET /v1/exports/{export_id}": {"finance", "admin"},  # an export's status and link: who may export
    "POST /v1/exports": {"finance", "admin"},  # SPEC §12: every client's export, finance and admin
    "GET /v1/sessions/{session_id}/history": STAFF,  # issue 5: staff roles
    "GET /v1/groups/{group_id}/history": STAFF,
    "GET /v1/me": set(ROLES),  # who am I: any valid token
    "POST /v1/imports": {"admin", "agent"},  # SPEC §15: a tool's export, as the agent's uploads
    "POST /v1/imports/uploads": {"admin", "agent"},
    "PUT /v1/imports/connections/{connection_id}": {"admin"},  # credentials: the admin's alone
    "GET /v1/imports/connections": {"admin"},
    "DELETE /v1/imports/connections/{connection_id}": {"admin"},
    "POST /v1/quotes": STAFF,  # SPEC §12: quotes are for staff
    "GET /v1/groups/{group_id}/computers": STAFF,  # the address book reads like GET /v1/groups
    "GET /v1/tokens": {"admin"},  # SPEC §1: the admin manages API tokens
    "POST /v1/tokens": {"admin"},
    "DELETE /v1/tokens/{token_id}": {"admin"},
    # SPEC §13 (invoices): runs and issue finance and admin, void and reopen admin, unlock as lock
    "PUT /v1/settings/invoicing": {"admin"},
    "GET /v1/settings/invoicing": {"admin", "finance"},
    "POST /v1/invoice-runs": {"finance", "admin"},
    "POST /v1/invoice-runs/{run_id}/exports": {"finance", "admin"},
    "GET /v1/invoices": {"finance", "admin"},
    "GET /v1/invoices/{invoice_id}": {"finance", "admin"},
    "POST /v1/invoices/{invoice_id}/issue": {"finance", "admin"},
    "POST /v1/invoices/{invoice_id}/void": {"admin"},
    "GET /v1/invoices/{invoice_id}/pdf": {"finance", "admin"},
    "GET /v1/periods/{month}": {"finance", "admin"},
    "GET /v1/groups/{group_id}/billing": {"finance", "admin"},
    "POST /v1/periods/{month}/close": {"finance", "admin"},
    "POST /v1/periods/{month}/reopen": {"admin"},
    "POST /v1/sessions/{session_id}/unlock": {"technician", "finance", "admin"},
    # SPEC §14: the tenant's staff (people of the user pool), admin only
    "GET /v1/users": {"admin"},
    "POST /v1/users": {"admin"},
    "PATCH /v1/users/{user_id}": {"admin"},
    "DELETE /v1/users/{user_id}": {"admin"},
}
