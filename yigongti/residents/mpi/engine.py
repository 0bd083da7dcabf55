"""The MPI engine: score pairs with Splink (DuckDB by default, Spark for province scale), cluster
them by connected components, and explain every score.

``dedupe(people)`` finds duplicates inside one list, ``link(left, right)`` links two lists. Each
pair carries its match probability and weight and the *reasons*: for every comparison the level
that fired (labelled in Chinese and English) and its Bayes factor, read from the gamma_/bf_
columns of Splink's prediction
(``mw_`` in Splink 5: the log2 Bayes factor).
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import duckdb
from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import ValidationFailed
from yigongti.core.spark import session as spark_session

from .comparisons import Model, load_model, settings_dict
from .features import People, build_features, present_fields

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")
Progress = Callable[[str], None]


@dataclass
class Pair:
    id_l: str
    id_r: str
    match_probability: float
    match_weight: float
    reasons: list[dict[str, Any]] = field(default_factory=list)
    cluster_id: str = ""


class Result(NamedTuple):
    pairs: list[Pair]
    clusters: dict[str, str]  # record id → cluster id, only for clusters of two or more


def _quiet_splink() -> None:
    logging.getLogger("splink").setLevel(logging.WARNING)


def _spark_session() -> Any:
    """A local Spark (2 cores) with Splink's similarity UDF jar — created only when asked for."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ValidationFailed(reason=_("未安装 pyspark，无法使用 Spark 引擎")) from exc
    spark = spark_session("local[2]", "ygt-mpi")
    spark.conf.set("spark.sql.shuffle.partitions", "4")
    return spark


class _Backend:
    """Feature tables in DuckDB; for Spark they are handed over as Parquet."""

    def __init__(self, engine: str) -> None:
        if engine not in ENGINES:
            raise ValidationFailed(reason=_("未知引擎 %(engine)s（可选 duckdb、spark）") % {"engine": engine})
        self.engine = engine
        self.con = duckdb.connect()
        self.tmp = tempfile.TemporaryDirectory(prefix="ygt-mpi-")
        if engine == "spark":
            from splink import SparkAPI

            self.spark = _spark_session()
            self.spark.sparkContext.setCheckpointDir(str(Path(self.tmp.name) / "checkpoints"))
            self.db_api: Any = SparkAPI(spark_session=self.spark, break_lineage_method="persist")
        else:
            from splink import DuckDBAPI

            self.db_api = DuckDBAPI(self.con)

    @property
    def dialect(self) -> str:
        return "spark" if self.engine == "spark" else "duckdb"

    def register(self, people: People, name: str) -> Any:
        build_features(self.con, people, table=name)
        if self.engine == "spark":
            path = Path(self.tmp.name) / f"{name}.parquet"
            self.con.execute(f"copy {name} to '{path}' (format parquet)")
            return self.db_api.register(self.spark.read.parquet(str(path)), dataset_display_name=name)
        return self.db_api.register(name, dataset_display_name=name)

    def close(self) -> None:
        self.con.close()
        self.tmp.cleanup()


def _reasons(row: dict[str, Any], model: Model, fields: frozenset[str]) -> list[dict[str, Any]]:
    reasons = []
    for comparison in model.comparisons:
        if comparison.field not in fields:
            continue
        gamma = row.get(f"gamma_{comparison.column}")
        if gamma is None:
            continue
        level = comparison.level_for_gamma(int(gamma))
        # Splink 5 returns the match weight (log2 of the Bayes factor) of each comparison as mw_<column>.
        weight = row.get(f"mw_{comparison.column}")
        if weight is None and row.get(f"bf_{comparison.column}") is not None:
            weight = math.log2(float(row[f"bf_{comparison.column}"]))
        weight = float(weight or 0.0)
        reasons.append({
            "field": comparison.field, "field_label": comparison.zh, "field_label_en": comparison.en,
            "level": level.key, "label": level.zh, "label_en": level.en,
            "bayes_factor": round(2.0 ** weight, 6), "weight": round(weight, 2),
        })
    return reasons


def _run(
    backend: _Backend, inputs: list[Any], *, link_type: str, fields: frozenset[str], prior: float, threshold: float,
    cluster_threshold: float, model: Model, progress: Progress | None,
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], str]]:
    from splink import Linker

    _quiet_splink()
    settings = settings_dict(dialect=backend.dialect, link_type=link_type, fields=fields, prior=prior, model=model)
    linker = Linker(inputs if len(inputs) > 1 else inputs[0], settings, log_level=None)
    if progress:
        progress(str(_("计算候选对并评分")))
    predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    rows = predictions.as_record_list()
    if progress:
        progress(str(_("聚类（连通分量）")))
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=cluster_threshold
    )
    source = ", source_dataset" if link_type != "dedupe_only" else ""
    members = clustered.query_sql(
        f"select cluster_id, unique_id{source} from {{this}} where cluster_id in "
        f"(select cluster_id from {{this}} group by cluster_id having count(*) > 1)"
    ).as_record_list()
    clusters = {(str(m.get("source_dataset", "")), str(m["unique_id"])): str(m["cluster_id"]) for m in members}
    return rows, clusters


def _pairs(rows: list[dict[str, Any]], clusters: dict[tuple[str, str], str], *, model: Model,
           fields: frozenset[str], left_name: str = "") -> list[Pair]:
    pairs = []
    for row in rows:
        ds_l, ds_r = str(row.get("source_dataset_l", "")), str(row.get("source_dataset_r", ""))
        id_l, id_r = str(row["unique_id_l"]), str(row["unique_id_r"])
        if left_name and ds_l != left_name:  # link: the input list always on the left
            ds_l, ds_r, id_l, id_r = ds_r, ds_l, id_r, id_l
        c_l, c_r = clusters.get((ds_l, id_l)), clusters.get((ds_r, id_r))
        pairs.append(Pair(
            id_l=id_l, id_r=id_r, match_probability=float(row["match_probability"]),
            match_weight=float(row["match_weight"]), reasons=_reasons(row, model, fields),
            cluster_id=c_l if c_l is not None and c_l == c_r else "",
        ))
    pairs.sort(key=lambda p: (-p.match_probability, p.id_l, p.id_r))
    return pairs


def dedupe(
    people: People, *, engine: str = "duckdb", threshold: float | None = None,
    cluster_threshold: float | None = None, model: Model | None = None, progress: Progress | None = None,
) -> Result:
    """Scored pairs ≥ ``threshold`` (default: the review threshold) inside ``people`` and the clusters
    at ``cluster_threshold`` (default: ``threshold``)."""
    model = model or load_model()
    threshold = model.review_threshold if threshold is None else threshold
    cluster_threshold = threshold if cluster_threshold is None else cluster_threshold
    fields = present_fields(people)
    if len(people) < 2:
        return Result([], {})
    backend = _Backend(engine)
    try:
        if progress:
            progress(str(_("整理特征（%(n)s 条）") % {"n": len(people)}))
        table = backend.register(people, "people")
        rows, clusters = _run(backend, [table], link_type="dedupe_only", fields=fields,
                              prior=model.prior(n=len(people)), threshold=threshold,
                              cluster_threshold=cluster_threshold, model=model, progress=progress)
    finally:
        backend.close()
    pairs = _pairs(rows, {("", k[1]): v for k, v in clusters.items()}, model=model, fields=fields)
    return Result(pairs, {k[1]: v for k, v in clusters.items()})


def link(
    left: People, right: People, *, engine: str = "duckdb", threshold: float | None = None,
    cluster_threshold: float | None = None, model: Model | None = None, progress: Progress | None = None,
) -> Result:
    """Pairs between ``left`` (an outside list) and ``right`` (e.g. the residents), left ids first.

    Clusters are keyed ``l:<id>`` / ``r:<id>`` since the two lists' ids may collide."""
    model = model or load_model()
    threshold = model.review_threshold if threshold is None else threshold
    cluster_threshold = threshold if cluster_threshold is None else cluster_threshold
    fields = present_fields(left) & present_fields(right)
    if not len(left) or not len(right):
        return Result([], {})
    backend = _Backend(engine)
    try:
        if progress:
            progress(str(_("整理特征（%(n)s 条）") % {"n": len(left) + len(right)}))
        tables = [backend.register(left, "input_l"), backend.register(right, "input_r")]
        rows, clusters = _run(backend, tables, link_type="link_only", fields=fields,
                              prior=model.prior(n=len(left), link_to=len(right)), threshold=threshold,
                              cluster_threshold=cluster_threshold, model=model, progress=progress)
    finally:
        backend.close()
    pairs = _pairs(rows, clusters, model=model, fields=fields, left_name="input_l")
    keyed = {("l:" if ds == "input_l" else "r:") + uid: cid for (ds, uid), cid in clusters.items()}
    return Result(pairs, keyed)


TRAINING_RULES = (
    "l.name_pinyin = r.name_pinyin AND l.birth_date = r.birth_date",  # estimates ID, sex, village, phone
    "l.id18 = r.id18",  # estimates name and birth date
)


def train(people: People, *, engine: str = "duckdb", seed: int = 42, max_pairs: float = 5e6) -> list[dict[str, Any]]:
    """Re-estimate the model on ``people``: u by random sampling (fixed seed), m by EM on
    :data:`TRAINING_RULES`. Returns [{field, level, m, u}] to compare with (or copy into)
    settings.yaml; the default runs never use it."""
    from splink import Linker
    from splink.internals.exceptions import SplinkException

    _quiet_splink()
    model = load_model()
    fields = present_fields(people)
    backend = _Backend(engine)
    try:
        table = backend.register(people, "people")
        settings = settings_dict(dialect=backend.dialect, link_type="dedupe_only", fields=fields,
                                 prior=model.prior(n=len(people)), model=model)
        linker = Linker(table, settings, log_level=None)
        try:
            linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
            for rule in TRAINING_RULES:
                linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except SplinkException as exc:
            first_line = str(exc).splitlines()[0]
            raise ValidationFailed(reason=_("数据不足以训练模型：%(error)s") % {"error": first_line}) from exc
        trained = linker.misc.save_model_to_json()
    finally:
        backend.close()
    out = []
    for comparison, spec in zip((c for c in model.comparisons if c.field in fields), trained["comparisons"],
                                strict=True):
        scored = [lv for lv in comparison.levels if not lv.is_null]
        for level, raw in zip(scored, [lv for lv in spec["comparison_levels"] if not lv.get("is_null_level")],
                              strict=True):
            out.append({"field": comparison.field, "level": level.key, "m": raw.get("m_probability"),
                        "u": raw.get("u_probability")})
    return out
