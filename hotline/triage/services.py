"""Triage on the database: train from past orders, suggest for new ones, store what was suggested.

Data access and side effects for ``hotline.triage.engine``. Suggestions are advice only: no order
changes here; the operator picks the category and the dispatcher the unit through the actions.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from hotline.triage import engine
from hotline.triage.models import Kind, Suggestion, TriageModel
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import Status

log = logging.getLogger(__name__)

NO_MODEL_HINT = "尚未训练分类模型：hotline triage train"
MIN_SAMPLES = 20


def order_text(title: str, content: str) -> str:
    return f"{(title or '').strip()}\n{(content or '').strip()}"


def _content(content: str) -> str:
    return (content or "").strip()


def _title(title: str) -> str:
    return (title or "").strip()


def unit_context(town: str | None, category_code: str | None) -> list[str]:
    """What the unit model knows besides the words: the place and the category (and its branch)."""
    tokens = [f"town:{town or '-'}"]
    if category_code:
        tokens += [f"cat:{category_code}", f"top:{category_code[:2]}"]
    return tokens


@dataclass
class TrainingData:
    kind: str
    texts: list[str]  # the content; the title is separate (weighted above the content)
    labels: list[str]
    contexts: list[list[str]] | None
    names: dict[str, str]  # label → display name
    priors: list[list[str]] | None = None  # the dispatch catalog's units for each sample (unit kind)
    titles: list[str] | None = None


def catalog_priors(rows: list[tuple[int | None, int | None, str | None]]) -> list[list[str]]:
    """The dispatch catalog's lead units (codes) for many (category id, town id, town code) at once.

    The same rule as ``hotline.workorders.queries.suggest_units`` (a town-specific rule first, then
    by position; a rule without a unit means the order's own town), read in one query.
    """
    from hotline.catalog.models import DispatchRule

    rules: dict[int, list[tuple[int | None, str | None]]] = {}
    for category_id, town_id, unit_code in (DispatchRule.objects.order_by(F("town_id").desc(nulls_last=True),
                                                                         "position")
                                            .values_list("category_id", "town_id", "unit__code")):
        rules.setdefault(category_id, []).append((town_id, unit_code))
    out = []
    for category_id, town_id, town_code in rows:
        units: list[str] = []
        for rule_town, unit_code in rules.get(category_id, []) if category_id else []:
            if rule_town is not None and rule_town != town_id:
                continue
            code = unit_code or town_code
            if code and code not in units:
                units.append(code)
        if not units and town_code:
            units.append(town_code)
        out.append(units)
    return out


def training_data(kind: str, *, since: dt.datetime | None = None) -> TrainingData:
    """Closed orders with a level-2 or level-3 category (kind ``category``), their appeal type
    (``appeal``) or their final lead unit (``unit``).

    One query each: closed orders are the ones whose category and lead unit have been confirmed by
    the whole workflow (a returned or redispatched order's final lead unit is the right answer).
    """
    orders = WorkOrder.objects.filter(status=Status.CLOSED)
    if since is not None:
        orders = orders.filter(received_at__gte=since)
    if kind == Kind.CATEGORY:
        rows = orders.filter(category__level__gte=2).order_by("pk").values_list(
            "title", "content", "category__code", "category__full_name")
        rows = list(rows)
        return TrainingData(kind, [_content(c) for _, c, _, _ in rows], [code for _, _, code, _ in rows],
                            None, {code: name for _, _, code, name in rows}, titles=[_title(t) for t, *_ in rows])
    if kind == Kind.APPEAL:
        rows = list(orders.order_by("pk").values_list("title", "content", "appeal_type__code", "appeal_type__name"))
        return TrainingData(kind, [_content(c) for _, c, _, _ in rows], [code for _, _, code, _ in rows],
                            None, {code: name for _, _, code, name in rows}, titles=[_title(t) for t, *_ in rows])
    if kind == Kind.UNIT:
        rows = list(orders.filter(lead_unit__isnull=False).order_by("pk").values_list(
            "title", "content", "town__short_name", "category__code", "lead_unit__code", "lead_unit__short_name",
            "category_id", "town_id", "town__code"))
        return TrainingData(kind, [_content(c) for _, c, *_ in rows], [r[4] for r in rows],
                            [unit_context(r[2], r[3]) for r in rows], {r[4]: r[5] for r in rows},
                            catalog_priors([(r[6], r[7], r[8]) for r in rows]), titles=[_title(t) for t, *_ in rows])
    raise ValueError(f"unknown kind {kind!r}")


def _require(data: TrainingData) -> None:
    if len(data.texts) < MIN_SAMPLES:
        what = {Kind.CATEGORY: "已办结且有分类的工单", Kind.APPEAL: "已办结的工单"}.get(data.kind, "已办结且有主办单位的工单")
        raise engine.TriageError(f"{what}只有 {len(data.texts)} 条，至少需要 {MIN_SAMPLES} 条才能训练")


def evaluate(kind: str, *, since: dt.datetime | None = None, seed: int = 0) -> tuple[engine.Report, TrainingData]:
    """Held-out scores of a model trained now on the same data (80 % train, 20 % test)."""
    data = training_data(kind, since=since)
    _require(data)
    return engine.evaluate(data.texts, data.labels, contexts=data.contexts, titles=data.titles, priors=data.priors,
                           seed=seed), data


def train(kind: str, *, since: dt.datetime | None = None, user=None, score: bool = True,
          force: bool = False) -> TriageModel:
    """Train on all the data and store the model as the next version of its kind; return it.

    With ``score`` the held-out scores of an 80/20 split are measured first and kept in the
    model's metadata, so the console and the docs can say how good the model in use is. The new
    version becomes the active one unless it scores worse than the active one (``engine.worse``):
    then it is stored inactive, with the reason in ``metadata["not_activated"]`` (``force``
    activates it anyway).
    """
    data = training_data(kind, since=since)
    _require(data)
    scores = {}
    if score:
        try:
            scores = engine.evaluate(data.texts, data.labels, contexts=data.contexts, titles=data.titles,
                                     priors=data.priors).summary()
        except engine.TriageError:
            scores = {}  # too few samples per class to hold any out; the model is still usable
    model = engine.train(data.texts, data.labels, contexts=data.contexts, titles=data.titles, kind=kind,
                         scores=scores)
    model.metadata["since"] = since.isoformat() if since else None
    model.metadata["names"] = data.names
    blob = engine.dumps(model)
    with transaction.atomic():
        last = (TriageModel.objects.select_for_update().filter(kind=kind).aggregate(v=Max("version"))["v"]) or 0
        active = TriageModel.objects.filter(kind=kind, active=True).defer("blob").first()
        reason = engine.worse(scores, active.scores) if active is not None else None
        activate = force or reason is None
        if reason:
            model.metadata["not_activated" if not force else "forced_over"] = reason
        model.metadata["version"] = last + 1
        if activate and active is not None:
            TriageModel.objects.filter(pk=active.pk).update(active=False)
        row = TriageModel.objects.create(kind=kind, version=last + 1, blob=blob, metadata=model.metadata,
                                         active=activate, created_by=user)
    if activate:
        _cache_put(row, model)
    return row


# One loaded model per kind and process: loading is unpickling a few MB, done once per version.
_cache: dict[str, tuple[int, engine.Model]] = {}
_cache_lock = threading.Lock()


def _cache_put(row: TriageModel, model: engine.Model) -> None:
    with _cache_lock:
        _cache[row.kind] = (row.pk, model)


def active_model(kind: str) -> tuple[TriageModel, engine.Model] | None:
    """The active stored model of ``kind`` and its loaded engine model, or None if none is trained
    or the stored one cannot be loaded (an upgrade changed the model format, a damaged blob): the
    console then shows no suggestions, as without a model, instead of an error page; the log says
    why, and ``hotline demo`` / ``hotline triage train`` train a new one."""
    row = TriageModel.objects.filter(kind=kind, active=True).defer("blob").first()
    if row is None:
        return None
    cached = _cache.get(kind)
    if cached and cached[0] == row.pk:
        return row, cached[1]
    blob = TriageModel.objects.filter(pk=row.pk).values_list("blob", flat=True).get()
    try:
        model = engine.loads(blob)
    except engine.TriageError as exc:
        log.warning("triage model %s (kind %s, version %s) not used: %s", row.pk, kind, row.version, exc)
        return None
    _cache_put(row, model)
    return row, model


def _chip(label: str, name: str, score: float | None, source: str, **extra) -> dict:
    return {"label": label, "name": name, "score": None if score is None else round(score, 4), "source": source,
            **extra}


def suggest_category(title: str, content: str, *, k: int = 3) -> list[dict]:
    """Up to ``k`` level-2 or level-3 categories for the words typed so far (active categories only)."""
    from hotline.catalog.models import Category

    if not (title or "").strip() and not (content or "").strip():
        return []
    loaded = active_model(Kind.CATEGORY)
    if loaded is None:
        return []
    _, model = loaded
    ranked = engine.predict(model, _content(content), k=k + 3, title=_title(title))
    names = dict(Category.objects.filter(code__in=[label for label, _ in ranked], level__gte=2, active=True)
                 .values_list("code", "full_name"))
    return [_chip(label, names[label], p, "model") for label, p in ranked if label in names][:k]


def suggest_appeal_type(title: str, content: str, *, k: int = 2) -> list[dict]:
    """Up to ``k`` appeal types (咨询类, 问题处理类 …) for the words typed so far (active types only)."""
    from hotline.catalog.models import AppealType

    if not (title or "").strip() and not (content or "").strip():
        return []
    loaded = active_model(Kind.APPEAL)
    if loaded is None:
        return []
    _, model = loaded
    ranked = engine.predict(model, _content(content), k=k + 2, title=_title(title))
    types = {t.code: t for t in AppealType.objects.filter(code__in=[label for label, _ in ranked], active=True)}
    return [_chip(label, types[label].name, p, "model", pk=types[label].pk) for label, p in ranked
            if label in types][:k]


def suggest_units(order: WorkOrder, *, k: int = 3) -> list[dict]:
    """Up to ``k`` lead units: the dispatch catalog's (category + town) first, then the model's."""
    from hotline.directory.models import Unit
    from hotline.workorders.queries import suggest_units as catalog_units

    catalog = [u for u in catalog_units(order) if u.active and u.kind != Unit.Kind.CENTER]
    loaded = active_model(Kind.UNIT)
    ranked: list[tuple[str, float]] = []
    if loaded is not None:
        _, model = loaded
        context = unit_context(order.town.short_name if order.town_id else None,
                               order.category.code if order.category_id else None)
        ranked = engine.predict(model, _content(order.content), k=len(model.labels), context=context,
                                title=_title(order.title))
    probability = dict(ranked)
    chips = [_chip(u.code, u.short_name, probability.get(u.code), "catalog", pk=u.pk) for u in catalog[:k]]
    wanted = [label for label, _ in ranked[: k + 3] if label not in {c["label"] for c in chips}]
    units = {u.code: u for u in Unit.objects.filter(code__in=wanted, active=True).exclude(kind=Unit.Kind.CENTER)}
    for label in wanted:
        if len(chips) >= k:
            break
        if label in units:
            chips.append(_chip(label, units[label].short_name, probability[label], "model", pk=units[label].pk))
    return chips


def record(order: WorkOrder, kind: str, chips: list[dict]) -> Suggestion:
    """Store what was suggested for ``order`` (one row per order and kind, the latest wins)."""
    loaded = TriageModel.objects.filter(kind=kind, active=True).only("pk", "version").first()
    suggestion, _ = Suggestion.objects.update_or_create(order=order, kind=kind, defaults={
        "model": loaded, "model_version": loaded.version if loaded else None, "suggested": chips,
        "top_label": chips[0]["label"] if chips else "", "chosen": "", "accepted": None, "in_top3": None,
        "settled_at": None})
    return suggestion


def suggest_and_record_units(order: WorkOrder, *, k: int = 3) -> list[dict]:
    chips = suggest_units(order, k=k)
    if chips:
        record(order, Kind.UNIT, chips)
    return chips


@dataclass
class SettleReport:
    recorded: int = 0
    settled: int = 0


def settle(*, now: dt.datetime | None = None, batch: int = 500) -> SettleReport:
    """Fill in the suggestions the console could not store and compare all with the final choice.

    The intake form has no order yet while the operator types, so the category suggestion of an
    order registered while a model was active is recorded here from its registered words — what
    the chips showed when typing stopped. Then every suggestion whose order has a category / lead
    unit (or changed since) gets ``chosen``, ``accepted`` (first chip taken) and ``in_top3``.
    """
    now = now or timezone.now()
    report = SettleReport()
    loaded = active_model(Kind.CATEGORY)
    if loaded is not None:
        row, model = loaded
        missing = (WorkOrder.objects.filter(received_at__gte=row.created_at, category__isnull=False)
                   .exclude(triage_suggestions__kind=Kind.CATEGORY)
                   .order_by("pk").values_list("pk", "title", "content"))
        from hotline.catalog.models import Category

        names = dict(Category.objects.filter(level__gte=2).values_list("code", "full_name"))
        rows = list(missing)
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            ranked = engine.predict_many(model, [_content(c) for _, _, c in chunk], titles=[_title(t) for _, t, _ in chunk],
                                         k=3)
            Suggestion.objects.bulk_create([
                Suggestion(order_id=pk, kind=Kind.CATEGORY, model=row, model_version=row.version,
                           suggested=[_chip(label, names.get(label, label), p, "model") for label, p in chips],
                           top_label=chips[0][0])
                for (pk, _, _), chips in zip(chunk, ranked, strict=True)])
            report.recorded += len(chunk)
    pending = Suggestion.objects.filter(Q(settled_at__isnull=True) | Q(order__updated_at__gt=F("settled_at")))
    finals = {
        Kind.CATEGORY: pending.filter(kind=Kind.CATEGORY, order__category__isnull=False).values_list(
            "pk", "suggested", "top_label", "order__category__code"),
        Kind.UNIT: pending.filter(kind=Kind.UNIT, order__lead_unit__isnull=False).values_list(
            "pk", "suggested", "top_label", "order__lead_unit__code"),
    }
    for rows in finals.values():
        changed = [Suggestion(pk=pk, chosen=chosen, accepted=top == chosen,
                              in_top3=chosen in {c["label"] for c in suggested[:3]}, settled_at=now)
                   for pk, suggested, top, chosen in rows]
        Suggestion.objects.bulk_update(changed, ["chosen", "accepted", "in_top3", "settled_at"], batch_size=batch)
        report.settled += len(changed)
    return report


def production_scores() -> dict[str, dict]:
    """How often the first suggestion / one of three was what people chose, per kind (settled only)."""
    from django.db.models import Count

    out = {}
    for kind in Kind:
        agg = Suggestion.objects.filter(kind=kind, settled_at__isnull=False).aggregate(
            n=Count("pk"), accepted=Count("pk", filter=Q(accepted=True)), top3=Count("pk", filter=Q(in_top3=True)))
        n = agg["n"]
        out[kind.value] = {"settled": n, "accepted_rate": agg["accepted"] / n if n else None,
                           "top3_rate": agg["top3"] / n if n else None}
    return out


def explain(order: WorkOrder) -> list[Suggestion]:
    """The suggestions stored for an order with the models that made them (for the timeline, audits)."""
    return list(Suggestion.objects.filter(order=order).select_related("model").order_by("kind"))


def similar_orders(user, title: str, content: str, *, now: dt.datetime, days: int = 30, k: int = 5,
                   threshold: float | None = None, scope=None) -> list[tuple[WorkOrder, float]]:
    """Recent orders ``user`` may see whose words are nearly these: repeat (并单) candidates.

    Found through the near-duplicate index (``hotline.triage.dupindex``: MinHash LSH keys of
    every order's text), so the cost does not grow with the number of orders; each candidate is
    verified by the exact Jaccard similarity of the character 3-grams (the score, 0-1). Orders of
    the last ``days`` only; merged orders are left out (their target is the one to merge into).
    ``scope``: the orders to look in (default: what ``user`` may see; the intake passes the caller
    history's scope, which never holds a confidential order for a unit).
    """
    from hotline.triage import dupindex, neardup

    scope = scope if scope is not None else WorkOrder.objects.visible_to(user)
    found = dupindex.find(title, content, scope, since=now - dt.timedelta(days=days), k=k,
                          threshold=neardup.THRESHOLD if threshold is None else threshold)
    orders = WorkOrder.objects.select_related("town", "category").in_bulk([pk for pk, _ in found])
    return [(orders[pk], score) for pk, score in found if pk in orders]
