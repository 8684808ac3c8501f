"""Every key of the one table (its design is documented beside the table in template.yaml)."""


class keys:
    """Every key of the table. Tenant-owned keys start with T#<tenant>, so ids never cross tenants."""

    @staticmethod
    def tenant(tenant_id):
        return f"TENANT#{tenant_id}"

    @staticmethod
    def token(token_hash):
        return f"TOKEN#{token_hash}"

    @staticmethod
    def tokens(tenant_id):
        return f"T#{tenant_id}#TOKENS"

    @staticmethod
    def group(tenant_id, group_id):
        return f"T#{tenant_id}#G#{group_id}"

    @staticmethod
    def groups(tenant_id):
        return f"T#{tenant_id}#GROUPS"

    @staticmethod
    def computer(tenant_id, computer_id):
        return f"T#{tenant_id}#C#{computer_id}"

    @staticmethod
    def computers_of(tenant_id, group_id):
        return f"T#{tenant_id}#G#{group_id}#COMPUTERS"

    @staticmethod
    def profile(tenant_id, profile_id):
        return f"T#{tenant_id}#P#{profile_id}"

    @staticmethod
    def profiles(tenant_id):
        return f"T#{tenant_id}#PROFILES"

    @staticmethod
    def version(number: int):
        return f"V#{number:06d}"

    @staticmethod
    def contracts_of(tenant_id, profile_id):
        return f"T#{tenant_id}#P#{profile_id}#CONTRACTS"

    @staticmethod
    def session(tenant_id, session_id):
        return f"T#{tenant_id}#S#{session_id}"

    @staticmethod
    def sessions_of(tenant_id, group_id):
        return f"T#{tenant_id}#G#{group_id}#SESSIONS"

    @staticmethod
    def closed_contracts(tenant_id, group_id):
        return f"T#{tenant_id}#G#{group_id}#CONTRACTS"

    @staticmethod
    def contract_number(number: int):
        return f"C#{number:06d}"

    @staticmethod
    def ledger(tenant_id, group_id, contract_id):
        return f"T#{tenant_id}#G#{group_id}#L#{contract_id}"

    @staticmethod
    def ledger_entry(sequence: int, session_id: str | None = None):
        """Entry n; a shared lock's entry after entry n (its number unknown), by session."""
        return f"E#{sequence:09d}" + (f"#{session_id}" if session_id else "")

    @staticmethod
    def idempotency(tenant_id, key_hash):
        return f"T#{tenant_id}#IK#{key_hash}"

    @staticmethod
    def events(tenant_id):
        return f"T#{tenant_id}#EVENTS"

    @staticmethod
    def export(tenant_id, export_id):
        return f"T#{tenant_id}#E#{export_id}"

    @staticmethod
    def import_connection(tenant_id, connection_id):
        return f"T#{tenant_id}#IC#{connection_id}"

    @staticmethod
    def import_connections(tenant_id):
        return f"T#{tenant_id}#ICS"

    @staticmethod
    def open_sessions_of(tenant_id, group_id):
        """GSI2 (sparse): a session is in it only while it is to_account."""
        return f"T#{tenant_id}#G#{group_id}#OPEN"

    @staticmethod
    def day_totals_of(tenant_id, group_id):
        return f"T#{tenant_id}#G#{group_id}#DAY"

    @staticmethod
    def day_total(day: str, currency: str):
        return f"{day}#{currency}"

    @staticmethod
    def job(tenant_id, job_id):
        return f"T#{tenant_id}#J#{job_id}"
