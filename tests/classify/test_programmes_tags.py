"""Programme detection and the cluster-policy tags subscribers follow by name."""

from __future__ import annotations

import pytest

from watcher.classify import Classifier, Document


@pytest.mark.parametrize(
    ("title", "identifier", "programme"),
    [
        ("Call under Horizon Europe for SMEs", None, "horizon-europe"),
        ("Robotics topic", "HORIZON-CL4-2025-04-DATA-03", "horizon-europe"),
        ("AI testing facilities", "DIGITAL-2026-AI-01", "digital-europe"),
        ("Tourism SMEs", "SMP-COSME-2025-TOURSME", "smp-cosme"),
        ("Progetto Interreg Alpine Space per le PMI", None, "interreg"),
        ("Contributi POR FESR alle imprese", None, "erdf"),
        ("Nature and biodiversity projects", "LIFE-2025-SAP-NAT", "life"),
        ("Defence research", "EDF-2025-RA-SENS", "edf"),
        ("Bando Europa Creativa per l'editoria", None, "creative-europe"),
        ("Cancer screening", "EU4H-2024-PJ-02", "eu4health"),
        ("Mobilità studenti Erasmus+", None, "erasmus-plus"),
        ("Maritime ports", "CEF-T-2022-CORECOEN-MARP-WORKS", "cef"),
        ("EIC Accelerator open", None, "eic"),
        ("Interregional Innovation Investments call", "I3-2025-INV1", "i3"),
        ("Bando PNRR per le imprese", None, "national-regional"),
    ],
)
def test_programmes(classifier: Classifier, title: str, identifier: str | None, programme: str) -> None:
    result = classifier.classify(Document(id="p", title=title, identifier=identifier))
    assert programme in result.programmes


def test_cluster_policy_tags(classifier: Classifier) -> None:
    doc = Document(
        id="t",
        title="Open call of the Eurocluster METASTARS for space downstream services",
        text="Cascade funding (financial support to third parties) for SMEs. Partner search on the ECCP. "
        "Matchmaking at the European Cluster Conference; cluster labels (gold label) by ESCA.",
    )
    tags = classifier.classify(doc).tags
    for tag in (
        "euroclusters",
        "eurocluster-cascade-call",
        "eurocluster:metastars",
        "european-cluster-conference",
        "eccp",
        "cluster-labels",
        "matchmaking",
    ):
        assert tag in tags


def test_cascade_without_eurocluster_is_not_tagged(classifier: Classifier) -> None:
    doc = Document(id="t", title="Open call with cascade funding for robotics start-ups")
    assert "eurocluster-cascade-call" not in classifier.classify(doc).tags


def test_general_cluster_policy_gets_no_ecosystem(classifier: Classifier) -> None:
    doc = Document(
        id="g",
        title="The future of EU cluster policy",
        text="The European Cluster Conference discussed how clusters in all 14 industrial ecosystems support "
        "the green and digital transition; a few mentioned automotive and tourism as examples.",
    )
    assert classifier.classify(doc).ecosystems == []
