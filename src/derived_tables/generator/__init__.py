"""The synthetic curated-data generator behind ``derived generate``.

Modules, from the bottom up: :mod:`calendar` (dates, working days from the ``holidays``
package's bank holidays, seasonality), :mod:`names` and :mod:`identity` (people and how records
write them down), :mod:`ids` (identifier formats), :mod:`reference` (the dbt seeds),
:mod:`frame` (lazy columns, versions and extraction windows), :mod:`common` (what the system
builders share: typed parallel arrays, a system's person records, id columns),
:mod:`cases` (the typed records of offender journeys) and :mod:`people` (which simulates them),
:mod:`courts`, :mod:`prisons`, :mod:`probation`, :mod:`opg` (the curated tables of each
system), :mod:`engine` (chunked simulation), :mod:`writer`, :mod:`output`, :mod:`manifest` and
:mod:`runs` (atomic writes), :mod:`command` (the CLI).

Each chunk draws from its own random generators in a fixed order, so the same seed, scale and
as-of date give byte-identical files; ``.ci/generator_checksums.py`` proves a change kept them.
"""
