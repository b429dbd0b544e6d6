"""The job's own JVM functions (lib/spacex_launches/job/jvm): the jar, its registration, and
spacex_repeats_a_key against Python's own JSON parser on crafted and real records."""

from __future__ import annotations

import json
import os

import pytest
from pyspark.sql import functions as F

from spacex_launches.exceptions import ConfigError
from spacex_launches.job import jvm_functions
from spacex_launches.job.session import register_jvm_functions
from support.paths import SAMPLE_DIR, SNAPSHOT_FILE


def repeats_a_key(spark, *texts: str | None) -> list[bool | None]:
    frame = spark.createDataFrame([(i, text) for i, text in enumerate(texts)], "i int, text string")
    column = F.call_function(jvm_functions.REPEATS_A_KEY, F.col("text")).alias("repeated")
    return [row.repeated for row in frame.select("i", column).orderBy("i").collect()]


def python_repeats_a_key(text: str) -> bool:
    """The oracle: Python's parser hands each object's pairs as sent to the hook."""
    repeated = False

    def pairs(items: list) -> dict:
        nonlocal repeated
        repeated |= len({key for key, _ in items}) != len(items)
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return repeated


def nested(depth: int, inner: str) -> str:
    return '{"a": ' * depth + inner + "}" * depth


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1, "b": 2}', False),
        ('{"a": 1, "a": 1}', True),
        (r'{"a": 1, "\u0061": 2}', True),  # keys compare as decoded
        ('{"a": {"b": 1}, "c": {"b": 1}}', False),  # sibling objects, the same key
        ('{"a": {"a": 1}}', False),  # a parent's key in its child
        ('[{"x": 1}, {"x": 1, "x": 2}]', True),  # in an array's object
        ('{"a": [[{"k": [], "k": {}}]]}', True),
        (nested(15, '{"k": 1, "k": 2}'), True),  # deeper than the SQL check it replaced looked (10)
        (nested(15, '{"k": 1, "j": 2}'), False),
        (r'{"a": "{\"k\": 1, \"k\": 2}"}', False),  # a string value is text, whatever it holds
        ("{'a': 1, 'a': 2}", True),  # single quotes, NaN: read as Spark's from_json reads them
        ('{"a": NaN, "b": NaN}', False),
        ('"just a string"', False),
        ("42", False),
        ('{"a": 1, "a": 2', None),  # truncated: not JSON, the other text rules name it
        ('{"a": 1, "a": }', None),
        (nested(1200, "1"), None),  # deeper than the parser's limit: json_nesting_within_limit's case
        ("", None),
        (None, None),
        ('{"a": 1} {"a": 1, "a": 2}', False),  # its first value only (valid_json_object: one value)
    ],
)
def test_repeats_a_key(spark, text, expected):
    assert repeats_a_key(spark, text) == [expected]


def test_agrees_with_pythons_parser_on_real_records_and_their_repeated_key_variants(spark):
    records = [
        json.dumps(r) for path in sorted(SAMPLE_DIR.glob("*.json")) for r in json.loads(path.read_text())
    ]
    if SNAPSHOT_FILE.is_file():  # the real API snapshot beside the repo (../shared), when there is one
        records += [json.dumps(record) for record in json.loads(SNAPSHOT_FILE.read_text())]
    # each record again with a key repeated in its first core object, or at its top when it has none
    variants = [
        text.replace('"core": ', '"core": null, "core": ', 1)
        if '"core": ' in text
        else text[:-1] + ', "id": 1}'
        for text in records
    ]
    texts = records + variants
    assert repeats_a_key(spark, *texts) == [python_repeats_a_key(text) for text in texts]
    assert sum(map(python_repeats_a_key, texts)) == len(variants)


def test_the_jar_is_the_same_bytes_when_built_again(tmp_path):
    """Reproducible: the EMR artifact (jobs/package.py) is byte for byte the jar the tests run with."""
    java = jvm_functions.java_home(os.environ)
    rebuilt = jvm_functions.build_jar(tmp_path / "again.jar", java)
    assert rebuilt.read_bytes() == jvm_functions.local_jar().read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))  # written whole, then moved into place


def test_a_session_without_the_jar_is_refused_by_name(spark, monkeypatch):
    monkeypatch.setitem(jvm_functions.FUNCTIONS, "spacex_missing", ("spacex_launches.jvm.Missing", "boolean"))
    with pytest.raises(
        ConfigError, match=r"spacex_missing \(spacex_launches\.jvm\.Missing\) is not on Spark's"
    ):
        register_jvm_functions(spark)
