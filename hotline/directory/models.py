"""Units (承办单位) that handle orders, the groups they are assessed in, and stationing (派驻)."""

import datetime as dt

from django.db import models
from django.db.models import Q


class UnitGroup(models.Model):
    """An assessment group: units in one group are scored on one scorecard and ranked together."""

    key = models.SlugField("代码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=40, unique=True)
    position = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        ordering = ["position", "key"]
        verbose_name = verbose_name_plural = "考核分组"

    def __str__(self):
        return self.name


class Unit(models.Model):
    """A body that handles orders: a town/street government, a city department, a utility.

    Towns and streets double as the *location* of an order (the order's ``town``).
    """

    class Kind(models.TextChoices):
        TOWN = "town", "镇"
        TOWNSHIP = "township", "乡"
        STREET = "street", "街道"
        DEPARTMENT = "department", "市直部门"
        ENTERPRISE = "enterprise", "公共企业"
        CENTER = "center", "热线中心"

    LOCALITY_KINDS = (Kind.TOWN, Kind.TOWNSHIP, Kind.STREET)

    code = models.CharField("编码", max_length=20, unique=True)
    name = models.CharField("全称", max_length=60, unique=True)
    short_name = models.CharField("简称", max_length=40)
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    group = models.ForeignKey(UnitGroup, models.PROTECT, null=True, blank=True, verbose_name="考核分组",
                              related_name="units")
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, verbose_name="上级单位",
                               related_name="children")
    division_code = models.CharField("行政区划代码", max_length=12, blank=True)
    active = models.BooleanField("启用", default=True)
    contact_person = models.CharField("联系人", max_length=40, blank=True)
    contact_phone = models.CharField("联系电话", max_length=30, blank=True)
    must_station = models.BooleanField("须派驻人员", default=False)
    position = models.PositiveIntegerField("排序", default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = verbose_name_plural = "承办单位"

    def __str__(self):
        return self.short_name

    @property
    def is_locality(self) -> bool:
        return self.kind in self.LOCALITY_KINDS


class Stationing(models.Model):
    """A person a unit keeps at the hotline center (派驻), from one date to another."""

    unit = models.ForeignKey(Unit, models.PROTECT, related_name="stationings", verbose_name="单位")
    staff_name = models.CharField("派驻人员", max_length=40)
    staff_phone = models.CharField("联系电话", max_length=30, blank=True)
    start_date = models.DateField("派驻开始")
    end_date = models.DateField("派驻结束", null=True, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        ordering = ["unit", "start_date"]
        verbose_name = verbose_name_plural = "派驻记录"
        constraints = [
            models.CheckConstraint(condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                                   name="stationing_end_after_start"),
        ]

    def __str__(self):
        return f"{self.unit} · {self.staff_name}"


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def stationing_compliance(year: int, month: int) -> dict[Unit, bool]:
    """For every active unit that must station staff: did someone cover every day of the month?

    A unit complies when the union of its stationing periods covers the whole month; a gap of a
    single day (staff left, no replacement yet) is non-compliance, as the briefing reports it.
    """
    first, last = month_bounds(year, month)
    units = Unit.objects.filter(active=True, must_station=True).order_by("position", "code")
    periods: dict[int, list[tuple[dt.date, dt.date]]] = {}
    rows = Stationing.objects.filter(unit__in=units, start_date__lte=last).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=first)).values_list("unit_id", "start_date", "end_date")
    for unit_id, start, end in rows:
        periods.setdefault(unit_id, []).append((max(start, first), min(end or last, last)))
    result = {}
    for unit in units:
        covered_until = first - dt.timedelta(days=1)
        for start, end in sorted(periods.get(unit.id, [])):
            if start > covered_until + dt.timedelta(days=1):
                break
            covered_until = max(covered_until, end)
        result[unit] = covered_until >= last
    return result


class UpstreamPlatform(models.Model):
    """A platform above the center that pushes orders down and wants results reported back."""

    code = models.SlugField("代码", max_length=30, unique=True)
    name = models.CharField("名称", max_length=60, unique=True)
    short_name = models.CharField("简称", max_length=30, blank=True)
    report_back_url = models.URLField("回复接口地址", blank=True)
    active = models.BooleanField("启用", default=True)
    position = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = verbose_name_plural = "上级平台"

    def __str__(self):
        return self.name
