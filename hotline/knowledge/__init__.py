"""The knowledge base's workflow (GB/T 44191-2024): proposals, review, versions, review dates.

The articles and their revisions are ``hotline.catalog`` models; this package holds the only
writers (``actions``) and the reads the console, the portal and the statistics share
(``queries``). It sits beside intake and triage: it reads work orders (usage counts, the
consultation orders a unit answered) and the access rules, and nothing below imports it.
"""
