"""What the metrics package keeps: a closed month's unit figures (``hotline.metrics.store``)."""

from django.db import models


class MonthUnitFigures(models.Model):
    """The whole center's unit figures of one closed calendar month, as ``unit_metrics`` counted
    them (every unit's counts, evidence lists and excluded orders), kept so that the statistics,
    the assessment and the briefing of the month read the month's lead assignments once.

    Rule for late changes (docs/metrics.md, "月度单位指标的存储"): the row computed with the cut-off
    ``as_of`` A answers a request with the cut-off B only while all of these hold, else the month is
    counted again and the row replaced:

    * A <= B < ``valid_until`` (or ``valid_until`` is empty). The figures depend on the cut-off only
      through limits still running at it (a sign-for or handling limit later than the cut-off is
      not a failure yet); ``valid_until`` is the earliest of them at A, from the same pass.
    * No work-order event was recorded since the row was computed (or last checked) on an order
      with a lead assignment dispatched in the month: every action writes one (a reply, a
      callback, a return decided, an exclusion from the assessment, the sweep's 督办未落实).
      "Since" is by the event's id (``last_event_id``), not by its time, so an action dated back
      (an import, a generator) counts too; events dated within ``store.SETTLE`` of ``checked_at``
      are looked at as well (a transaction still open when the row was computed).
    * The directory still rolls the same sub-units into the same parents (``parents``); names and
      groups are read from the directory on every read.
    * The counting code is the code that computed the row (``code``).
    """

    year = models.PositiveSmallIntegerField("年")
    month = models.PositiveSmallIntegerField("月")
    as_of = models.DateTimeField("统计时点")
    computed_at = models.DateTimeField("计算时间")
    valid_until = models.DateTimeField("有效至", null=True, blank=True,
                                       help_text="计算时仍在计时的最早签收、办理时限；空：没有")
    checked_at = models.DateTimeField("核对时间", help_text="此前记录的工单日志已核对过")
    last_event_id = models.BigIntegerField("已核对的最大日志号", default=0)
    parents = models.JSONField("下属单位归属", default=list, help_text="[[下属单位 id, 上级单位 id], …]")
    code = models.CharField("计数代码版本", max_length=64)
    data = models.JSONField("各单位指标", default=list)
    seconds = models.FloatField("用时（秒）", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "月度单位指标"
        constraints = [models.UniqueConstraint(fields=["year", "month"], name="month_unit_figures_once")]

    def __str__(self):
        return f"{self.year}年{self.month}月单位指标（截至 {self.as_of:%Y-%m-%d %H:%M}）"
