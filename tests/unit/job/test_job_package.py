"""spacex_launches.job on import: spark-submit's zips of the installed pyspark go last on sys.path;
zips of a Spark that is not pip-installed (EMR's /usr/lib/spark) stay first."""

from __future__ import annotations

import sys

from spacex_launches import job


def wheel_layout(root):
    site = root / "site-packages"
    lib = site / "pyspark" / "python" / "lib"
    lib.mkdir(parents=True)
    (site / "pyspark" / "__init__.py").write_text("")
    return site, str(lib / "pyspark.zip"), str(lib / "py4j-0.10.9.7-src.zip")


def test_the_installed_wheels_zips_go_last(monkeypatch, tmp_path):
    site, pyspark_zip, py4j_zip = wheel_layout(tmp_path)
    monkeypatch.delitem(sys.modules, "pyspark", raising=False)
    monkeypatch.setattr(sys, "path", ["/job", pyspark_zip, py4j_zip, "/lib/python3.11", str(site)])
    job.installed_pyspark_first()
    assert sys.path == ["/job", "/lib/python3.11", str(site), pyspark_zip, py4j_zip]


def test_zips_of_a_spark_not_installed_as_a_package_stay_first(monkeypatch, tmp_path):
    emr = ["/usr/lib/spark/python/lib/pyspark.zip", "/usr/lib/spark/python/lib/py4j-0.10.9.7-src.zip"]
    site, *_ = wheel_layout(tmp_path)  # an installed pyspark elsewhere does not make EMR's zips its own
    monkeypatch.delitem(sys.modules, "pyspark", raising=False)
    monkeypatch.setattr(sys, "path", ["/job", *emr, str(site)])
    job.installed_pyspark_first()
    assert sys.path == ["/job", *emr, str(site)]


def test_nothing_moves_once_pyspark_is_imported(monkeypatch, tmp_path):
    site, pyspark_zip, py4j_zip = wheel_layout(tmp_path)
    monkeypatch.setitem(sys.modules, "pyspark", object())
    monkeypatch.setattr(sys, "path", [pyspark_zip, py4j_zip, str(site)])
    job.installed_pyspark_first()
    assert sys.path == [pyspark_zip, py4j_zip, str(site)]
