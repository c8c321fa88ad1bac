"""Lanner: cloud detection and response.

Data flow (one package per stage): sources -> normalize -> lake -> detect.
"""

__version__ = "0.1.0"
