"""The process's one Spark session, for every app that runs on Spark (analytics indicators, the MPI).

``SparkSession.builder.getOrCreate()`` hands back a session that already runs and silently ignores the
static settings of the second caller — ``spark.jars`` among them. So every caller starts Spark here,
the same way: on loopback, without the web UI, and with Splink's similarity UDF jar on the classpath
(the MPI's string comparisons need it whichever app started Spark first). What may differ between
callers and can change on a running session (shuffle partitions, time zone) each caller sets itself.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def session(master: str, app_name: str) -> Any:
    """The running local Spark session, or a new one on ``master`` (raises what Spark raises)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the driver's services on loopback only
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.memory", "2g"))
    jar = _similarity_jar()
    if jar:
        builder = builder.config("spark.jars", jar)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _similarity_jar() -> str:
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:
        return ""
    return str(similarity_jar_location())
