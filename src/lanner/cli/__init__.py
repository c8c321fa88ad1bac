"""The `lanner` command line: a thin shell over `lanner.service`."""
