"""Kind cues in it/en/fr/de/es, source defaults, past events, nominations."""

from __future__ import annotations

from datetime import date

import pytest

from watcher.classify import Classifier, Document


def kind_of(classifier: Classifier, title: str, text: str = "", **extra: object) -> str:
    doc = Document(id="t", title=title, text=text, published=date(2024, 1, 10), **extra)  # type: ignore[arg-type]
    return classifier.classify(doc, today=date(2024, 1, 10)).kind


@pytest.mark.parametrize(
    "title",
    [
        "Bando per l'innovazione delle PMI",
        "Avviso pubblico per contributi alle imprese",
        "Call for proposals: clean energy for SMEs",
        "Open call for startups in robotics",
        "Tender for evaluation services",
        "Gara d'appalto per servizi di manutenzione",
        "Premio innovazione 2024",
        "Prize for women innovators",
        "Appel à projets pour les PME",
        "Ausschreibung für KMU",
        "Convocatoria de ayudas para pymes",
    ],
)
def test_call_cues(classifier: Classifier, title: str) -> None:
    assert kind_of(classifier, title) == "call"


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Conferenza sull'economia circolare", "La conferenza si terrà il 12 marzo 2024 a Milano."),
        ("Conference on circular economy", "The conference will take place on 12 March 2024."),
        ("Webinar: Horizon Europe per le PMI", "Il webinar si terrà il 20 febbraio 2024."),
        ("Workshop on data spaces", "Join us on 20 February 2024 in Brussels."),
        ("Matchmaking event for clusters", "B2B meetings on 20 February 2024. Register now."),
        ("Info day Digital Europe", "The info day will be held on 20 February 2024."),
        ("Evento di networking tra cluster", "L'evento si terrà il 20 febbraio 2024."),
        ("Journée d'information Horizon Europe", "La journée aura lieu le 20 février 2024."),
        ("Konferenz Industrie 4.0", "Die Konferenz findet statt am 20. Februar 2024."),
        ("Jornada informativa sobre clústeres", "La jornada tendrá lugar el 20 de febrero de 2024."),
    ],
)
def test_event_cues(classifier: Classifier, title: str, text: str) -> None:
    assert kind_of(classifier, title, text) == "event"


def test_report_on_a_past_event_is_news(classifier: Classifier) -> None:
    text = "La conferenza si è svolta il 7 e 8 marzo e ha riunito oltre 700 partecipanti."
    assert kind_of(classifier, "Il cluster alla European Cluster Conference", text) == "news"
    text = "The conference took place in Brussels and brought together 700 participants."
    assert kind_of(classifier, "Highlights from the European Cluster Conference", text) == "news"


def test_nominations_are_news_without_ecosystems(classifier: Classifier) -> None:
    doc = Document(
        id="n",
        title="Nomina dei componenti della Consulta per il turismo",
        text="Avviso pubblico per presentazione candidature",
    )
    result = classifier.classify(doc)
    assert (result.kind, result.ecosystems) == ("news", [])


def test_source_default_and_structured_deadlines(classifier: Classifier) -> None:
    assert kind_of(classifier, "Staff exchanges", "", deadlines=[date(2024, 5, 1)]) == "call"
    assert kind_of(classifier, "Quarterly update", "", default_kind="event") == "event"
    assert kind_of(classifier, "Quarterly update", "") == "news"


def test_event_about_calls_with_a_date_is_an_event(classifier: Classifier) -> None:
    text = "Il webinar si terrà il 12 marzo 2024: presentazione dei bandi aperti."
    assert kind_of(classifier, "Webinar: come partecipare ai bandi Horizon Europe", text) == "event"


@pytest.mark.parametrize(
    ("title", "text", "kind"),
    [
        # the cues of the issue, each in Italian and in English
        ("Nuovo bando per le PMI", "", "call"),
        ("New funding call (bando) for SMEs", "", "call"),
        ("Avviso per la selezione di progetti", "", "call"),
        ("Notice: open call for pilots", "", "call"),
        ("Invito a presentare proposte per l'innovazione", "", "call"),
        ("Gara per servizi di consulenza", "", "call"),
        ("Premio per le startup femminili", "", "call"),
        ("Workshop sui dati industriali", "Il workshop si terrà il 5 febbraio 2024.", "event"),
        ("Matchmaking tra cluster europei", "Gli incontri si terranno il 5 febbraio 2024.", "event"),
        ("Info day sui bandi Horizon Europe", "L'info day si terrà il 5 febbraio 2024.", "event"),
        ("Webinar sulle opportunità di finanziamento", "Il webinar si terrà il 5 febbraio 2024.", "event"),
        ("Conference on EU cluster policy", "The conference will be held on 5 February 2024.", "event"),
        ("Event: clusters meet regions", "The event takes place on 5 February 2024.", "event"),
        ("Matchmaking event for space clusters", "Meetings will take place on 5 February 2024.", "event"),
        (
            "Il cluster ha presentato i risultati del progetto",
            "Il progetto si è concluso a dicembre.",
            "news",
        ),
        ("The cluster presented its annual report", "The report was published last week.", "news"),
    ],
)
def test_cues_in_italian_and_english(classifier: Classifier, title: str, text: str, kind: str) -> None:
    assert kind_of(classifier, title, text) == kind
