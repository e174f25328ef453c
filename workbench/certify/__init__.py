"""Certification: six categories of real checks, measured against configured thresholds,
run by papermill from ``notebooks/10_certification.ipynb`` (``workbench certify``)."""

from workbench.certify.checks import PROFILES, run_category
from workbench.certify.report import CATEGORIES, Category, Check, Report, load_thresholds
from workbench.certify.runner import certify, validate

__all__ = ["CATEGORIES", "Category", "Check", "PROFILES", "Report", "certify", "load_thresholds", "run_category",
           "validate"]
