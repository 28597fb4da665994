"""Evaluation: data set adapters, pure metrics, the eval loop, report and quality gate."""
