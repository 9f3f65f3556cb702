"""Italian and English strings for our mail: one small table, one template set.

Mail has a few dozen strings, so a dict beats gettext catalogues; ``t`` falls back to English and
formats with ``str.format`` keywords. Plural-aware phrases used in subjects are functions.
"""

from __future__ import annotations

from datetime import date

STRINGS: dict[str, dict[str, str]] = {
    "kind.call": {"en": "Calls", "it": "Bandi"},
    "kind.event": {"en": "Events", "it": "Eventi"},
    "kind.news": {"en": "News", "it": "Notizie"},
    "other_ecosystems": {"en": "Other", "it": "Altro"},
    "closing_soon": {"en": "Closing soon", "it": "In scadenza"},
    "updates": {"en": "Updates", "it": "Aggiornamenti"},
    "editor_notes": {"en": "Editor's notes", "it": "Note della redazione"},
    "deadline": {"en": "Deadline", "it": "Scadenza"},
    "event_date": {"en": "Date", "it": "Data"},
    "read_more": {"en": "Read more", "it": "Leggi"},
    "add_calendar": {"en": "Add to calendar", "it": "Aggiungi al calendario"},
    "google_calendar": {"en": "Google Calendar", "it": "Google Calendar"},
    "ics": {"en": "iCal / Outlook", "it": "iCal / Outlook"},
    "deadline_changed": {"en": "Deadline changed: {old} → {new}", "it": "Scadenza modificata: {old} → {new}"},
    "more_items": {"en": "…and {n} more", "it": "…e altri {n}"},
    "greeting": {"en": "Hello {name},", "it": "Buongiorno {name},"},
    "greeting_anon": {"en": "Hello,", "it": "Buongiorno,"},
    "digest_intro_weekly": {
        "en": "here is what is new this week for you.",
        "it": "ecco le novità della settimana per te.",
    },
    "digest_intro_daily": {
        "en": "here is what is new today for you.",
        "it": "ecco le novità di oggi per te.",
    },
    "nothing_new": {"en": "Nothing new this time.", "it": "Nessuna novità questa volta."},
    "subject_nothing_weekly": {"en": "Nothing new this week", "it": "Nessuna novità questa settimana"},
    "subject_nothing_daily": {"en": "Nothing new today", "it": "Nessuna novità oggi"},
    "footer_why": {
        "en": "You receive this because you subscribed to Cluster Watch.",
        "it": "Ricevi questo messaggio perché sei iscritto a Cluster Watch.",
    },
    "preferences": {"en": "Change your preferences", "it": "Modifica le preferenze"},
    "unsubscribe": {"en": "Unsubscribe", "it": "Annulla l'iscrizione"},
    "alert_intro": {
        "en": "new calls matching your preferences have just been published:",
        "it": "sono appena stati pubblicati nuovi bandi in linea con le tue preferenze:",
    },
    "reminder_intro": {
        "en": "a call you follow closes in {days} days:",
        "it": "un bando che segui scade tra {days} giorni:",
    },
    "reminder_intro_one": {
        "en": "a call you follow closes tomorrow:",
        "it": "un bando che segui scade domani:",
    },
    "reminder_intro_zero": {"en": "a call you follow closes today:", "it": "un bando che segui scade oggi:"},
    "reminder_subject": {"en": "Closes in {days} days: {title}", "it": "Scade tra {days} giorni: {title}"},
    "reminder_subject_one": {"en": "Closes tomorrow: {title}", "it": "Scade domani: {title}"},
    "reminder_subject_zero": {"en": "Closes today: {title}", "it": "Scade oggi: {title}"},
    "confirm_subject": {
        "en": "Confirm your Cluster Watch subscription",
        "it": "Conferma l'iscrizione a Cluster Watch",
    },
    "confirm_intro": {
        "en": "please confirm that you want to receive Cluster Watch emails at this address.",
        "it": "conferma che vuoi ricevere le email di Cluster Watch a questo indirizzo.",
    },
    "confirm_button": {"en": "Confirm subscription", "it": "Conferma l'iscrizione"},
    "confirm_expiry": {
        "en": "The link is valid for {hours} hours. If you did not ask for this, ignore this email.",
        "it": "Il link è valido per {hours} ore. Se non l'hai richiesto, ignora questa email.",
    },
    "already_subject": {"en": "Your Cluster Watch subscription", "it": "La tua iscrizione a Cluster Watch"},
    "already_intro": {
        "en": "someone (probably you) asked to subscribe this address, which is already subscribed.",
        "it": "qualcuno (probabilmente tu) ha chiesto di iscrivere questo indirizzo, che è già iscritto.",
    },
}

MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "it": ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"],
}


def t(key: str, language: str, **values: object) -> str:
    entry = STRINGS[key]
    text = entry.get(language) or entry["en"]
    return text.format(**values) if values else text


def format_date(day: date, language: str) -> str:
    months = MONTHS.get(language, MONTHS["en"])
    return f"{day.day} {months[day.month - 1]} {day.year}"


_NEW: dict[str, dict[str, tuple[str, str]]] = {
    "en": {"call": ("new call", "new calls"), "event": ("new event", "new events"),
           "news": ("news item", "news items")},
    "it": {"call": ("nuovo bando", "nuovi bandi"), "event": ("nuovo evento", "nuovi eventi"),
           "news": ("notizia", "notizie")},
}


def count_new(kind: str, n: int, language: str) -> str:
    """"3 new calls" / "1 nuovo bando"."""
    forms = _NEW.get(language, _NEW["en"])[kind]
    return f"{n} {forms[0] if n == 1 else forms[1]}"


def in_ecosystem(name: str, language: str) -> str:
    return f"in {name}" if language == "en" else f"({name})"


def closing_phrase(count: int, days: int, language: str) -> str:
    """"1 closes in 5 days" / "3 close within 12 days" / "1 scade tra 5 giorni"."""
    if language == "it":
        if count == 1:
            return {0: "1 scade oggi", 1: "1 scade domani"}.get(days, f"1 scade tra {days} giorni")
        return f"{count} scadono entro {days} giorni" if days > 1 else f"{count} scadono a breve"
    if count == 1:
        return {0: "1 closes today", 1: "1 closes tomorrow"}.get(days, f"1 closes in {days} days")
    return f"{count} close within {days} days" if days > 1 else f"{count} close very soon"


def updates_phrase(count: int, language: str) -> str:
    if language == "it":
        return f"{count} {'aggiornamento' if count == 1 else 'aggiornamenti'}"
    return f"{count} {'update' if count == 1 else 'updates'}"
