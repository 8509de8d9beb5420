"""Evaluation: metrics, OpenCV baselines, the evaluation loop, reports and the demo."""
