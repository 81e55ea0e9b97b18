"""The `los` command line."""
