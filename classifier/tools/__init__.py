"""Offline maintenance tools for the classifier's rule files (not used at run time)."""
