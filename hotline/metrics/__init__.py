"""One definition of every figure (DESIGN.md §5: below analytics, assessment and briefing).

``definitions`` says what each figure counts; ``units`` and ``center`` are the only queries that
count them; ``values`` carries them. No model: the package reads workorders, it stores nothing.
"""
