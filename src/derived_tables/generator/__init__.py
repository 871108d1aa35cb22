"""The synthetic curated-data generator behind ``derived generate``.

Modules, from the bottom up: :mod:`calendar` (dates, working days, seasonality), :mod:`names`
and :mod:`identity` (people and how records write them down), :mod:`ids` (identifier formats),
:mod:`reference` (the dbt seeds), :mod:`frame` (lazy columns, versions and extraction windows),
:mod:`people` (offender journeys), :mod:`courts`, :mod:`prisons`, :mod:`probation`, :mod:`opg`
(the curated tables of each system), :mod:`engine` (chunked simulation), :mod:`writer`,
:mod:`output`, :mod:`manifest` and :mod:`runs` (atomic writes), :mod:`command` (the CLI).
"""
