"""derived-tables' own dbt-bouncer checks (rules dbt-bouncer has no check for).

dbt-bouncer loads the check classes defined in the files under its
`custom_checks_dir`; the checks themselves are typed, tested functions in
src/derived_tables/conventions.py, built into this module here.
"""

from derived_tables.conventions import register

register(__name__)
