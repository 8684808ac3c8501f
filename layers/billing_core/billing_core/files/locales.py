"""How each language writes a finance file: column headers, status words, decimal separator,
delimiter (`;` where the decimal separator is a comma, as Excel's list separator is there) and
dates. English dates are ISO (2026-10-01 08:00): English-speaking readers disagree on day/month
order, and every spreadsheet reads ISO as a date in every locale."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Locale:
    code: str
    decimal: str
    delimiter: str
    date_time: str  # strftime pattern
    minutes: str  # suffix of a duration in minutes
    clock: str  # suffix of a duration as h:mm
    total: str
    sessions: str
    summary: str
    headers: dict
    statuses: dict


HEADERS = {  # column key → header; the same keys as the spreadsheet columns of files.columns
    "en": ("Client", "Client id", "Session", "Technician", "Computer", "Computer id", "Start", "End", "Connection",
           "Extra minutes", "Total time", "Billed time", "Cost", "Currency", "Status", "Locked at", "Profile",
           "Profile id", "Profile version", "Notes"),
    "fr": ("Client", "Id client", "Session", "Technicien", "Ordinateur", "Id ordinateur", "Début", "Fin", "Connexion",
           "Minutes supplémentaires", "Durée totale", "Durée facturée", "Coût", "Devise", "Statut", "Verrouillée le",
           "Profil", "Id profil", "Version du profil", "Notes"),
    "it": ("Cliente", "Id cliente", "Sessione", "Tecnico", "Computer", "Id computer", "Inizio", "Fine", "Connessione",
           "Minuti extra", "Durata totale", "Durata fatturata", "Costo", "Valuta", "Stato", "Bloccata il", "Profilo",
           "Id profilo", "Versione profilo", "Note"),
    "de": ("Kunde", "Kunden-ID", "Sitzung", "Techniker", "Computer", "Computer-ID", "Beginn", "Ende", "Verbindung",
           "Zusatzminuten", "Gesamtdauer", "Abgerechnete Dauer", "Kosten", "Währung", "Status", "Gesperrt am", "Profil",
           "Profil-ID", "Profilversion", "Notizen"),
}
KEYS = ("client", "group_id", "session_id", "technician", "computer", "computer_id", "started_at", "ended_at",
        "connection", "extra_minutes", "total", "billed", "cost", "currency", "status", "locked_at", "profile",
        "profile_id", "profile_version", "notes")

LOCALES = {
    "en": Locale("en", ".", ",", "%Y-%m-%d %H:%M", "min", "h:mm", "Total", "Sessions", "Summary", dict(zip(KEYS, HEADERS["en"])),
                 {"to_account": "to account", "accounted": "accounted"}),
    "fr": Locale("fr", ",", ";", "%d/%m/%Y %H:%M", "min", "h:mm", "Total", "Sessions", "Récapitulatif", dict(zip(KEYS, HEADERS["fr"])),
                 {"to_account": "à comptabiliser", "accounted": "comptabilisée"}),
    "it": Locale("it", ",", ";", "%d/%m/%Y %H:%M", "min", "h:mm", "Totale", "Sessioni", "Riepilogo", dict(zip(KEYS, HEADERS["it"])),
                 {"to_account": "da contabilizzare", "accounted": "contabilizzata"}),
    "de": Locale("de", ",", ";", "%d.%m.%Y %H:%M", "Min.", "h:mm", "Summe", "Sitzungen", "Übersicht", dict(zip(KEYS, HEADERS["de"])),
                 {"to_account": "abzurechnen", "accounted": "abgerechnet"}),
}
