"""Release files agree with the package: licence, citation (CFF 1.2.0), changelog, extras.

CITATION.cff is checked against the structure of Citation File Format 1.2.0 (required keys,
key names, author and identifier shapes); `cffconvert --validate` (not a test dependency)
accepts it as well. The [test] extra must hold every package a test imports optionally, so
that CI never skips a test for a missing Python package.
"""

import configparser
import importlib
import os
import re

import yaml
from packaging.requirements import Requirement

import gi_tf

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Citation File Format 1.2.0: the keys of the root and of a reference (preferred-citation).
CFF_ROOT_KEYS = {
    "abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi",
    "identifiers", "keywords", "license", "license-url", "message", "preferred-citation",
    "references", "repository", "repository-artifact", "repository-code", "title", "type",
    "url", "version"}
CFF_REQUIRED = {"authors", "cff-version", "message", "title"}
CFF_REFERENCE_KEYS = {
    "abbreviation", "abstract", "authors", "collection-doi", "collection-title",
    "collection-type", "commit", "conference", "contact", "copyright", "data-type",
    "database", "database-provider", "date-accessed", "date-downloaded", "date-published",
    "date-released", "department", "doi", "edition", "editors", "editors-series", "end",
    "entry", "filename", "format", "identifiers", "institution", "isbn", "issn", "issue",
    "issue-date", "issue-title", "journal", "keywords", "languages", "license", "license-url",
    "loc-end", "loc-start", "location", "medium", "month", "nihmsid", "notes", "number",
    "number-volumes", "pages", "patent-states", "pmcid", "publisher", "recipients",
    "repository", "repository-artifact", "repository-code", "scope", "section", "senders",
    "start", "status", "term", "thesis-type", "title", "translators", "type", "url",
    "version", "volume", "volume-title", "year", "year-original"}
CFF_REFERENCE_TYPES = {"article", "book", "conference-paper", "generic", "misc", "software"}
CFF_PERSON_KEYS = {"family-names", "given-names", "name-particle", "name-suffix",
                   "affiliation", "email", "orcid", "website", "alias", "address", "city",
                   "country", "fax", "post-code", "region", "tel"}
CFF_ENTITY_KEYS = {"name", "address", "city", "country", "email", "fax", "orcid",
                   "post-code", "region", "tel", "website", "alias", "date-start",
                   "date-end", "location"}

# Distribution -> module of every optional package a test imports (pytest-xdist: the plugin
# that setup.cfg's addopts, --numprocesses, need).
TEST_IMPORTS = {"pytest": "pytest", "pytest-xdist": "xdist", "gradio": "gradio",
                "playwright": "playwright",
                "scikit-image": "skimage", "tensorflow-serving-api": "tensorflow_serving.apis",
                "pypatchmatch": "patchmatch.patch_match", "pyyaml": "yaml", "jax": "jax",
                "apache-beam": "apache_beam"}


def _read(name):
    with open(os.path.join(REPO_ROOT, name), encoding="utf-8") as f:
        return f.read()


def _setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(REPO_ROOT, "setup.cfg"))
    return cfg


def _requirements(text):
    """``{name: applies here}`` of requirement lines (environment markers evaluated)."""
    out = {}
    for line in text.splitlines():
        if line.strip():
            requirement = Requirement(line.strip())
            out[requirement.name] = (requirement.marker is None
                                     or requirement.marker.evaluate())
    return out


def _check_authors(authors, where):
    assert isinstance(authors, list) and authors, where
    for person in authors:
        keys = set(person)
        if "name" in keys:  # an entity
            assert keys <= CFF_ENTITY_KEYS, (where, keys - CFF_ENTITY_KEYS)
        else:
            assert keys <= CFF_PERSON_KEYS and "family-names" in keys, (where, person)
        assert all(isinstance(v, str) and v for v in person.values()), (where, person)


def test_citation_file_is_cff_1_2_0_and_names_this_version():
    cff = yaml.safe_load(_read("CITATION.cff"))
    assert cff["cff-version"] == "1.2.0"
    assert CFF_REQUIRED <= set(cff) <= CFF_ROOT_KEYS, set(cff) - CFF_ROOT_KEYS
    assert cff["type"] == "software" and cff["license"] == _setup_cfg()["metadata"]["license"]
    assert str(cff["version"]) == gi_tf.__version__
    _check_authors(cff["authors"], "authors")
    paper = cff["preferred-citation"]
    assert set(paper) <= CFF_REFERENCE_KEYS, set(paper) - CFF_REFERENCE_KEYS
    assert paper["type"] in CFF_REFERENCE_TYPES
    assert paper["title"] == "Generative Image Inpainting with Contextual Attention"
    assert paper["year"] == 2018 and paper["start"] < paper["end"]
    _check_authors(paper["authors"], "preferred-citation")
    assert [a["family-names"] for a in paper["authors"]] == [
        "Yu", "Lin", "Yang", "Shen", "Lu", "Huang"]
    for identifier in paper.get("identifiers", []):
        assert identifier["type"] in {"doi", "url", "swh", "other"} and identifier["value"]


def test_changelog_starts_with_this_version_and_names_the_floors_check():
    text = _read("CHANGELOG.md")
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, re.MULTILINE)
    assert versions and versions[0] == gi_tf.__version__
    assert len(set(versions)) == len(versions)
    assert "bash .ci/floors" in text and os.path.exists(os.path.join(REPO_ROOT, ".ci", "floors"))


def test_licence_is_the_apache_2_text():
    text = _read("LICENSE")
    assert _setup_cfg()["metadata"]["license"] == "Apache-2.0"
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_every_core_requirement_has_a_floor():
    for line in _setup_cfg()["options"]["install_requires"].strip().splitlines():
        assert re.fullmatch(r"[A-Za-z0-9_.-]+>=\d[\w.]*", line.strip()), line


def test_the_test_extra_holds_every_optional_package_the_tests_import():
    # Installed with `pip install -e ".[test]"` (the README's test command), these make
    # the SSIM cross-check, the gRPC tests, the photo tests and PatchMatch run in CI.
    extra = _requirements(_setup_cfg()["options.extras_require"]["test"])
    assert set(extra) == set(TEST_IMPORTS)
    for name, module in TEST_IMPORTS.items():
        if extra[name]:  # pypatchmatch: Python 3.11+ only (its marker)
            importlib.import_module(module)  # fails, not skips, when one is missing
