"""The citizen's own rating of an answered order (市民网上评价), kept beside the order.

The rating is the citizen's word, not the center's callback: a satisfied rating closes the order
through ``actions.record_callback`` (as the system actor); a dissatisfied one is only noted on the
order (``actions.annotate``) so the callback staff phone the citizen and decide between closing
and rework (重办) — whether a complaint is reasonable is a person's judgement. One rating per
order: the unique constraint is what makes "rated once" hold under concurrent submissions.
"""

from django.db import models

from hotline.workorders.models import Satisfaction


class CitizenRating(models.Model):
    """One citizen rating submitted on the tracking page."""

    order = models.OneToOneField("workorders.WorkOrder", models.CASCADE, related_name="citizen_rating",
                                 verbose_name="工单")
    at = models.DateTimeField("评价时间")
    satisfaction = models.CharField("满意度", max_length=20, choices=Satisfaction.choices)
    solved = models.BooleanField("是否解决")
    comment = models.TextField("评价意见", blank=True)
    closed_order = models.BooleanField("已据此办结", default=False,
                                       help_text="满意评价直接办结；不满意评价留待回访人员核实")

    class Meta:
        verbose_name = verbose_name_plural = "市民评价"
        ordering = ["-at"]

    def __str__(self):
        return f"{self.order_id} {self.get_satisfaction_display()}"
