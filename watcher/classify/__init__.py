"""Classification: ecosystems, kind, dates, language, programmes and cluster-policy tags."""

from watcher.classify.classifier import Classifier
from watcher.classify.document import Classification, Document
from watcher.classify.language import detect_language
from watcher.classify.status import item_status
from watcher.classify.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

__all__ = [
    "Classification",
    "Classifier",
    "Document",
    "Taxonomy",
    "TaxonomyError",
    "detect_language",
    "item_status",
    "load_taxonomy",
]
