"""derived-tables: synthetic curated justice data and the tooling around its dbt project."""

__version__ = "0.1.0"
