"""A Prometheus scrape of the API, parsed by prometheus-client's own parser, for the tests."""

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

# The samples a family of each type writes.
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


class Samples(dict[tuple[str, tuple[tuple[str, str], ...]], float]):
    """Each sample's value by (name, sorted labels); `declared`: every sample name the scrape's
    families may write, those without a sample yet included (a labelled counter not yet moved)."""

    declared: set[str]


def parse(text: str) -> Samples:
    samples = Samples()
    samples.declared = set()
    for family in text_string_to_metric_families(text):
        samples.declared.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def scrape(client: TestClient | str, path: str = "/metrics") -> Samples:
    """Of the app behind a test client, or of the server at a base URL."""
    response = client.get(path) if isinstance(client, TestClient) else httpx.get(f"{client}{path}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when its metric has no such series yet (a counter not yet moved), and
    an error when the scrape has no such metric at all (a name mistyped, or gone). In multiprocess
    mode a labelled metric no worker has moved is not in the scrape at all: an error too."""
    assert name in samples.declared, f"{name} is not in the scrape"
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)
