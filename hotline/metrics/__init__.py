"""One definition of every figure (DESIGN.md §5: below analytics, assessment and briefing).

``definitions`` says what each figure counts; ``units`` and ``center`` are the only queries that
count them; ``values`` carries them. The one thing kept is a closed month's unit figures
(``models.MonthUnitFigures``, ``store``), so the month build counts a closed month once.
"""
