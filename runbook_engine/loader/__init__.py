"""YAML -> validated models. Every error carries file:line:column."""
