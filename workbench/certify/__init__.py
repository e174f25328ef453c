"""Certification: seven categories of checks, each a plain function comparing a figure
measured in this run with an independently computed expectation; performance as ratios
against calibration workloads timed alongside; outputs hashed against shipped goldens; a
fault library that proves each category goes red when its component breaks. Run by
papermill from ``notebooks/10_certification.ipynb`` (``workbench certify [--faults]``)."""

from workbench.certify.certification import Certification, CertificationFailed
from workbench.certify.checks import CHECKS, run_category
from workbench.certify.context import PROFILES, Context
from workbench.certify.faults import FAULTS, inject
from workbench.certify.report import CATEGORIES, Category, Check, Report, load_thresholds
from workbench.certify.runner import certify, validate

__all__ = ["CATEGORIES", "CHECKS", "Category", "Certification", "CertificationFailed", "Check", "Context", "FAULTS",
           "PROFILES", "Report", "certify", "inject", "load_thresholds", "run_category", "validate"]
